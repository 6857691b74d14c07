import type { FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { TextDecoder } from 'node:util';
import { ApiError } from '../errors/api-error';

/** Far deeper than any command needs (a channel's locations: 2), far shallower than a stack overflow. */
export const MAX_JSON_DEPTH = 32;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Bodies are JSON objects of at most `limitBytes`, read by Fastify content-type parsers (no Nest
 * middleware on the request path):
 * - a body that is not JSON is 415 (a form or text body would otherwise reach validation as an empty
 *   object and come back as "every field missing", which hides the real mistake);
 * - over the limit is 413, with or without a Content-Length;
 * - malformed JSON, or JSON whose first value is not an object or array (strict, as body-parser was),
 *   is 400 naming the body;
 * - nesting deeper than MAX_JSON_DEPTH is 400 before anything walks it (class-transformer and the
 *   validation pipe recurse once per level: 10,000 nested objects overflowed the stack there).
 * A refused body is read to its end before the answer: a connection closed with request bytes still
 * unread is reset by the kernel, and the client may never see the answer.
 * `__proto__` and `constructor` keys stay own properties (JSON.parse), so validation refuses them by name.
 */
export function registerJsonBody(fastify: FastifyInstance, limitBytes: number): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', (request, payload, done) => {
    const charset = charsetOf(request.headers['content-type']);
    if (charset !== 'utf-8' && !decoderFor(charset)) return drain(payload, () => done(unreadable(415, 'charset.unsupported')));
    readLimited(payload, limitBytes, (error, bytes) => {
      if (error) return done(error);
      try {
        done(null, parseJsonBody(decode(bytes as Buffer, charset)));
      } catch (refusal) {
        done(refusal as Error);
      }
    });
  });
  fastify.addContentTypeParser('*', (request, payload, done) => {
    if (!BODY_METHODS.has(request.method)) return drain(payload, () => done(null, undefined));
    const contentType = request.headers['content-type'] ?? null;
    drain(payload, () => done(new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json', { contentType })));
  });
}

export function parseJsonBody(text: string): unknown {
  // As body-parser's strict mode: an empty body is {}, anything else must open an object or array.
  if (text.length === 0) return {};
  const first = text.charCodeAt(firstNonSpace(text));
  // 0x7b '{', 0x5b '['
  if (first !== 0x7b && first !== 0x5b) throw malformed();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw malformed();
  }
  if (deeperThan(value, MAX_JSON_DEPTH)) {
    const problem = `the body is nested deeper than ${MAX_JSON_DEPTH} levels`;
    throw new ApiError(400, 'VALIDATION_FAILED', problem, { fields: [{ field: 'body', problems: [problem] }] });
  }
  return value;
}

/**
 * True when an object or array sits below `levels` levels (the top-level value is level 1). The
 * recursion stops at `levels`, so it cannot overflow the stack whatever the input.
 */
export function deeperThan(value: unknown, levels: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (levels === 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (deeperThan(item, levels - 1)) return true;
    return false;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) if (deeperThan(record[key], levels - 1)) return true;
  return false;
}

function readLimited(payload: IncomingMessage, limit: number, then: (error: Error | null, bytes?: Buffer) => void): void {
  if (Number(payload.headers['content-length']) > limit) return drain(payload, () => then(tooLarge()));
  const chunks: Buffer[] = [];
  let received = 0;
  let settled = false;
  const settle = (error: Error | null, bytes?: Buffer) => {
    if (settled) return;
    settled = true;
    then(error, bytes);
  };
  payload.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received <= limit) chunks.push(chunk);
    else chunks.length = 0;
  });
  payload.once('end', () => (received > limit ? settle(tooLarge()) : settle(null, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received))));
  payload.once('error', () => settle(unreadable(400, 'request.aborted')));
}

function drain(payload: IncomingMessage, then: () => void): void {
  if (payload.readableEnded) return then();
  payload.once('end', then);
  payload.once('error', then);
  payload.resume();
}

function charsetOf(contentType: string | undefined): string {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return match ? match[1].toLowerCase() : 'utf-8';
}

/** body-parser took any utf-* charset it could decode; so does this. */
function decoderFor(charset: string): TextDecoder | null {
  if (!charset.startsWith('utf-')) return null;
  try {
    return new TextDecoder(charset);
  } catch {
    return null;
  }
}

function decode(bytes: Buffer, charset: string): string {
  if (charset !== 'utf-8') return (decoderFor(charset) as TextDecoder).decode(bytes);
  const text = bytes.toString('utf8');
  // A byte-order mark is not part of the JSON (body-parser's decoder dropped it too).
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function firstNonSpace(text: string): number {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) return index;
  }
  return -1;
}

function tooLarge(): ApiError {
  return new ApiError(413, 'PAYLOAD_TOO_LARGE', 'the request body is over the size limit');
}

function malformed(): ApiError {
  return new ApiError(400, 'VALIDATION_FAILED', 'the request body is not valid JSON', { fields: [{ field: 'body', problems: ['malformed JSON'] }] });
}

function unreadable(status: number, reason: string): ApiError {
  return new ApiError(status, status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'VALIDATION_FAILED', 'the request body could not be read', { reason });
}
