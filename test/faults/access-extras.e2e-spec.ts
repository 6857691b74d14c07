import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
// The module object itself (a default import), so a spy on it is what the guard calls.
import crypto from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@ledger/platform';
import { Roles } from '@app/ledger/http/auth/roles.decorator';
import { TokenGuard } from '@app/ledger/http/auth/token.guard';
import { createClient, readLedger, type HttpClient, type HttpResponse } from '../support/http';
import { openSse } from '../support/sse';
import { startTestApp, type TestApp } from '../support/test-app';
import { startLedgerProcess, type LedgerProcess } from './support/ledger-process';

const TOKENS = {
  ops: 'ops-Xtra-7Hq2Lm9Vb4Nc8Rz1Wd5',
  service: 'svc-Xtra-3Kp6Ty1Ue8Oi4Aa7Sg2',
  auditor: 'aud-Xtra-9Fj5Gh2Dk7Ll3Zx8Cv6',
};
const TOKEN_ENV = `ops:${TOKENS.ops},service:${TOKENS.service},auditor:${TOKENS.auditor}`;

describe('access extras: tokens never reach a log or an answer', () => {
  jest.setTimeout(60_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-tokens-'));
  let ledger: LedgerProcess;
  let client: HttpClient;
  const answers: HttpResponse[] = [];
  /** Tokens presented that are not valid: near misses of the real ones, and made-up ones. */
  const WRONG = [
    `${TOKENS.ops.slice(0, -1)}X`,
    `${TOKENS.ops}0`,
    TOKENS.ops.slice(0, -3),
    'Wrong-Token-Q1w2E3r4T5y6U7i8',
    'Bearer-Looking-Thing-0123456789',
  ];

  beforeAll(async () => {
    // The most talkative log level, so anything that could log a header would.
    ledger = await startLedgerProcess({ dataDir, env: { LEDGER_API_TOKENS: TOKEN_ENV, LOG_LEVEL: 'debug' } });
    client = createClient(ledger.url);
  });
  afterAll(async () => {
    client?.close();
    await ledger?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const send = async (method: string, path: string, options: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> } = {}) => {
    const answer = await client.request(method, path, options);
    answers.push(answer);
    return answer;
  };

  it('valid and invalid tokens on commands, reads, refusals and errors', async () => {
    const sku = '/v1/skus/TOK-1';
    expect((await send('PUT', '/v1/channels/web', { body: { locations: ['wh-1'] }, token: TOKENS.ops })).status).toBe(200);
    expect((await send('POST', `${sku}/receipts`, { body: { receiptId: 'rc-1', location: 'wh-1', quantity: 5 }, token: TOKENS.service })).status).toBe(201);
    expect((await send('POST', `${sku}/reservations`, { body: { reservationId: 'r-1', channel: 'web', quantity: 50 }, token: TOKENS.ops })).status).toBe(409);
    expect((await send('POST', `${sku}/receipts`, { body: { receiptId: 'rc-1', location: 'wh-1', quantity: 6 }, token: TOKENS.ops })).status).toBe(409);
    expect((await send('POST', `${sku}/receipts`, { raw: '{"receiptId":', token: TOKENS.ops })).status).toBe(400);
    expect((await send('POST', `${sku}/receipts`, { body: { receiptId: TOKENS.auditor.replace(/-/g, '_'), location: 'wh 1', quantity: -1 }, token: TOKENS.ops })).status).toBe(400);
    expect((await send('GET', `${sku}`, { token: TOKENS.auditor })).status).toBe(200);
    expect((await send('GET', '/v1/skus/NOPE-1', { token: TOKENS.auditor })).status).toBe(404);
    expect((await send('POST', `${sku}/receipts`, { body: { receiptId: 'rc-2', location: 'wh-1', quantity: 1 }, token: TOKENS.auditor })).status).toBe(403);
    expect((await send('GET', '/v1/admin/projections', { token: TOKENS.service })).status).toBe(403);
    expect((await send('GET', '/no/such/route', { token: TOKENS.ops })).status).toBe(404);
    for (const wrong of WRONG) {
      expect((await send('POST', `${sku}/receipts`, { body: { receiptId: 'rc-3', location: 'wh-1', quantity: 1 }, token: wrong })).status).toBe(401);
      expect((await send('GET', sku, { token: wrong })).status).toBe(401);
      expect((await send('GET', sku, { token: null, headers: { Authorization: `Basic ${wrong}` } })).status).toBe(401);
      expect((await send('GET', sku, { token: null, headers: { Authorization: `Bearer ${wrong} ${wrong}` } })).status).toBe(401);
      expect((await send('GET', `${sku}?token=${wrong}`, { token: null })).status).toBe(401);
    }
    // The real tokens in the wrong places are not credentials either.
    expect((await send('GET', sku, { token: null, headers: { 'X-Api-Token': TOKENS.ops } })).status).toBe(401);
    expect((await send('GET', sku, { token: null, headers: { Authorization: TOKENS.ops } })).status).toBe(401);
  });

  it('no answer echoes a token, valid or not', () => {
    const seen = answers.map((answer) => `${answer.text}\n${JSON.stringify(answer.headers)}`).join('\n');
    for (const token of [...Object.values(TOKENS), ...WRONG]) expect({ token, echoed: seen.includes(token) }).toEqual({ token, echoed: false });
  });

  it('no log line holds a token, even at debug level and through shutdown', async () => {
    await ledger.stop();
    const output = ledger.output();
    expect(output).toMatch(/listening on/);
    for (const token of [...Object.values(TOKENS), ...WRONG]) expect({ token, logged: output.includes(token) }).toEqual({ token, logged: false });
  });

  it.each([
    ['a token too short', 'ops:too-short-15c'],
    ['an unknown role', 'admin:Admin-Secret-Token-0123456789'],
    ['an entry without a role', 'NoRoleSecretToken0123456789'],
  ])('a configuration refused for %s does not print the token', async (_label, tokens) => {
    const secret = tokens.split(':').pop() as string;
    const refused = await startLedgerProcess({ dataDir, env: { LEDGER_API_TOKENS: tokens }, readyTimeoutMs: 15_000 }).then(
      async (running) => {
        await running.kill();
        return null;
      },
      (error: Error) => error.message,
    );
    expect(refused).toMatch(/LEDGER_API_TOKENS/);
    expect(refused).not.toContain(secret);
  });
});

describe('access extras: the body size limit', () => {
  jest.setTimeout(60_000);
  const LIMIT = 2_048;
  let testApp: TestApp;
  let client: HttpClient;

  beforeAll(async () => {
    testApp = await startTestApp({ env: { LEDGER_BODY_LIMIT_BYTES: String(LIMIT) } });
    client = createClient(testApp.url);
    expect((await client.put('/v1/channels/web', { locations: ['wh-1'] })).status).toBe(200);
  });
  afterAll(async () => {
    client.close();
    await testApp.close();
  });

  /** A valid receipt padded with trailing whitespace (valid JSON) to exactly `bytes`. */
  const receiptOf = (bytes: number, receiptId: string) => {
    const json = JSON.stringify({ receiptId, location: 'wh-1', quantity: 1 });
    return json + ' '.repeat(bytes - Buffer.byteLength(json));
  };

  it('exactly the limit is taken; one byte more is 413 PAYLOAD_TOO_LARGE and changes nothing', async () => {
    expect((await client.post('/v1/skus/LIM-1/receipts', undefined, { raw: receiptOf(LIMIT, 'rc-at') })).status).toBe(201);
    const before = await readLedger(client, 'LIM-1');
    const over = await client.post('/v1/skus/LIM-1/receipts', undefined, { raw: receiptOf(LIMIT + 1, 'rc-over') });
    expect({ status: over.status, code: over.body?.code }).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    expect(await readLedger(client, 'LIM-1')).toEqual(before);
  });

  it('the limit holds without a Content-Length (chunked), and for bodies far over it, JSON or not, with the answer delivered', async () => {
    const chunked = await rawPost(testApp.url, '/v1/skus/LIM-1/receipts', 'application/json', Buffer.from(receiptOf(LIMIT + 1, 'rc-chunked')), true);
    expect(chunked.status).toBe(413);
    const tenMb = Buffer.alloc(10 * 1024 * 1024, 0x20);
    tenMb.write('{"receiptId":"rc-huge","location":"wh-1","quantity":1}');
    for (const [contentType, status] of [['application/json', 413], ['text/plain', 415]] as const) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const answer = await rawPost(testApp.url, '/v1/skus/LIM-1/receipts', contentType, tenMb, false);
        expect({ contentType, status: answer.status }).toEqual({ contentType, status });
      }
    }
    expect((await readLedger(client, 'LIM-1')).map((event) => event.data.receiptId)).toEqual(['rc-at']);
    expect((await client.get('/health/live')).status).toBe(200);
  });
});

describe('access extras: availability streams are bounded per client', () => {
  jest.setTimeout(60_000);
  // A child process, so that a client here reads while the server writes, as a real one would.
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-sse-'));
  let ledger: LedgerProcess;
  let client: HttpClient;

  beforeAll(async () => {
    ledger = await startLedgerProcess({ dataDir, env: { LEDGER_API_TOKENS: TOKEN_ENV } });
    client = createClient(ledger.url, { token: TOKENS.ops, maxSockets: 64 });
  });
  afterAll(async () => {
    client?.close();
    await ledger?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const streamUrl = (query = '') => `${ledger.url}/v1/availability/stream${query}`;
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  /** Opens a stream, retrying while a place closed a moment ago is not yet given back. */
  async function admitted(token: string) {
    const deadline = Date.now() + 3_000;
    for (;;) {
      try {
        return await openSse(streamUrl(), bearer(token));
      } catch (error) {
        if (!/429/.test((error as Error).message) || Date.now() > deadline) throw error;
        await new Promise((done) => setTimeout(done, 50));
      }
    }
  }

  it('ten streams per token; the 11th is 429 TOO_MANY_STREAMS with Retry-After; other tokens are unaffected; closing one frees a place', async () => {
    const open = await Promise.all(Array.from({ length: 10 }, () => openSse(streamUrl(), bearer(TOKENS.auditor))));
    try {
      const eleventh = await client.get('/v1/availability/stream', { token: TOKENS.auditor });
      expect({ status: eleventh.status, code: eleventh.body?.code, retryAfter: eleventh.headers['retry-after'] }).toEqual({ status: 429, code: 'TOO_MANY_STREAMS', retryAfter: '5' });
      const other = await openSse(streamUrl(), bearer(TOKENS.service));
      other.close();
      open.pop()?.close();
      open.push(await admitted(TOKENS.auditor));
    } finally {
      for (const stream of open) stream.close();
    }
  });

  it('a client that stops reading is dropped once over 1 MB is buffered for it; another client keeps getting every event', async () => {
    // Long names make big events: 20 channels of 200 characters on one location, so each receipt
    // is 20 changes of about half a kilobyte each.
    const channels = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(2, '0')}-${'c'.repeat(197)}`);
    const sku = `SLOW-${'s'.repeat(195)}`;
    for (const channel of channels) expect((await client.put(`/v1/channels/${channel}`, { locations: ['wh-1'] })).status).toBe(200);
    const query = `?sku=${sku}`;
    const healthy = await openSse(streamUrl(query), bearer(TOKENS.auditor));
    const slow = await openStalledStream(ledger.url, `/v1/availability/stream${query}`, TOKENS.service);

    // About 13 MB of events in all, in bursts of 10 receipts (about 100 KB): far more than the
    // kernel's socket buffers and the megabyte the server keeps for a client that does not read.
    const RECEIPTS = 1_200;
    let lastPosition = 0;
    for (let start = 0; start < RECEIPTS; start += 10) {
      const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => client.post(`/v1/skus/${sku}/receipts`, { receiptId: `rc-${start + i}`, location: 'wh-1', quantity: 1 })));
      for (const answer of burst) {
        expect(answer.status).toBe(201);
        lastPosition = Math.max(lastPosition, answer.body.position);
      }
    }
    // The healthy client gets every change, up to the last one.
    await healthy.next((event) => event.event === 'availability' && Number(event.id) === lastPosition, 20_000);
    const changes = healthy.events.filter((event) => event.event === 'availability');
    expect(changes.length).toBe(RECEIPTS * channels.length);
    expect(new Set(changes.map((event) => JSON.parse(event.data).channel)).size).toBe(channels.length);
    healthy.close();

    // The slow one was cut off: reading again, it gets what was already in flight, far from
    // everything, and then its connection ends; its place is free again.
    const received = await slow.drain(10_000);
    expect(received).toMatch(/^HTTP\/1.1 200/);
    expect(received.length).toBeLessThan(changes.reduce((sum, event) => sum + event.data.length, 0) / 2);
    const more = await Promise.all(Array.from({ length: 10 }, () => admitted(TOKENS.service)));
    more.forEach((stream) => stream.close());
    expect(ledger.alive()).toBe(true);
    expect((await client.get('/health/live')).status).toBe(200);
  });
});

describe('access extras: the token guard compares in constant time', () => {
  const tokens = ['ops-A1b2C3d4E5f6G7h8', 'ops-Z9y8X7w6V5u4T3s2', 'service-Q1w2E3r4T5y6', 'auditor-P0o9I8u7Y6t5', 'service-M1n2B3v4C5x6Long'];
  const config = loadConfig({ LEDGER_API_TOKENS: tokens.map((token) => `${token.split('-')[0]}:${token}`).join(','), LEDGER_DATA_DIR: tmpdir() });
  class Routes {
    @Roles('ops', 'service', 'auditor')
    handler(): void {}
  }
  const guard = new TokenGuard(new Reflector(), config);
  const contextFor = (authorization: string): ExecutionContext =>
    ({
      getHandler: () => Routes.prototype.handler,
      getClass: () => Routes,
      switchToHttp: () => ({ getRequest: () => ({ headers: { authorization } }), getResponse: () => ({ header: () => undefined }) }),
    }) as unknown as ExecutionContext;

  afterEach(() => jest.restoreAllMocks());

  it.each([
    ['the first token', tokens[0], true],
    ['a middle token', tokens[2], true],
    ['the last token', tokens[4], true],
    ['a wrong token of the same length as one', `${tokens[0].slice(0, -1)}x`, false],
    ['a much longer wrong token', 'x'.repeat(500), false],
    ['a one-character token', 'x', false],
  ])('%s: every configured token is compared, each as a 32-byte digest', (_label, presented, valid) => {
    const compare = jest.spyOn(crypto, 'timingSafeEqual');
    const outcome = (() => {
      try {
        return guard.canActivate(contextFor(`Bearer ${presented}`));
      } catch (error) {
        return (error as { getStatus(): number }).getStatus();
      }
    })();
    expect(outcome).toBe(valid ? true : 401);
    expect(compare).toHaveBeenCalledTimes(tokens.length);
    for (const [known, given] of compare.mock.calls as unknown as [Buffer, Buffer][]) {
      expect([known.length, given.length]).toEqual([32, 32]);
    }
  });
});

/** A raw POST over a fresh connection, optionally chunked; the status, or 0 with the error when no answer came. */
function rawPost(baseUrl: string, path: string, contentType: string, body: Buffer, chunked: boolean): Promise<{ status: number; error?: string }> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { 'Content-Type': contentType };
    if (chunked) headers['Transfer-Encoding'] = 'chunked';
    else headers['Content-Length'] = body.length;
    const req = httpRequest(`${baseUrl}${path}`, { method: 'POST', agent: false, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', (error) => resolve({ status: 0, error: (error as NodeJS.ErrnoException).code }));
    for (let offset = 0; offset < body.length; offset += 64 * 1024) req.write(body.subarray(offset, offset + 64 * 1024));
    req.end();
  });
}

/**
 * An SSE request on a raw socket that stops reading as soon as it is sent, so what the server writes
 * piles up (first in the kernel's buffers, then in the server's). `drain` reads it all, to the end.
 */
async function openStalledStream(baseUrl: string, path: string, token: string): Promise<{ socket: Socket; drain(timeoutMs: number): Promise<string> }> {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nAccept: text/event-stream\r\nAuthorization: Bearer ${token}\r\n\r\n`);
  socket.pause();
  return {
    socket,
    drain: (timeoutMs: number) =>
      new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`the server kept the stalled stream open (${Buffer.concat(chunks).length} bytes read)`));
        }, timeoutMs);
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        const done = () => {
          clearTimeout(timer);
          resolve(Buffer.concat(chunks).toString('utf8'));
        };
        socket.once('end', done);
        socket.once('close', done);
        socket.once('error', done);
        socket.resume();
      }),
  };
}
