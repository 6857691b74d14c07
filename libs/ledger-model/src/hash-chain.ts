import * as crypto from 'node:crypto';

/** The hash of the event before the first one of a stream. */
export const GENESIS_HASH = '0'.repeat(64);

export interface HashedEventContent {
  type: string;
  data: unknown;
  /** Metadata as stored; its `hash` and `prevHash` fields are left out of the digest. */
  metadata: Record<string, unknown>;
}

/**
 * sha-256 over the canonical JSON of the event's type, data and metadata (without its own hash)
 * and the previous event's hash, so changing or removing any event breaks every later link.
 */
export function chainHash(prevHash: string, event: HashedEventContent): string {
  // Exactly canonicalJson({ type, data, metadata: metadata without hash and prevHash, prevHash }),
  // written out with the top-level keys already in order and without copying the metadata.
  let json = '{';
  if (event.data !== undefined) json += `"data":${canonicalJson(event.data)},`;
  json += `"metadata":${canonicalObject(event.metadata as Record<string, unknown>, true)}`;
  if (prevHash !== undefined) json += `,"prevHash":${canonicalJson(prevHash)}`;
  if (event.type !== undefined) json += `,"type":${canonicalJson(event.type)}`;
  return sha256Hex(`${json}}`);
}

/** JSON with object keys sorted at every depth, so the same content always gives the same bytes. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  return canonicalObject(value as Record<string, unknown>, false);
}

/** Own enumerable keys in code-unit order (as `<` compares them), undefined values left out. */
function canonicalObject(value: Record<string, unknown>, skipChainFields: boolean): string {
  const keys = Object.keys(value).sort();
  let json = '{';
  let first = true;
  for (const key of keys) {
    if (skipChainFields && (key === 'hash' || key === 'prevHash')) continue;
    const item = value[key];
    if (item === undefined) continue;
    json += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(item)}`;
    first = false;
  }
  return `${json}}`;
}

type OneShotHash = (algorithm: string, data: string, encoding: 'hex') => string;
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash;

/** Node's one-shot crypto.hash where it exists (20.12+), else a Hash object: the same digest. */
function sha256Hex(text: string): string {
  return oneShot ? oneShot('sha256', text, 'hex') : crypto.createHash('sha256').update(text).digest('hex');
}
