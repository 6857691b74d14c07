import { createHash } from 'node:crypto';

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
  const { hash: _hash, prevHash: _prev, ...metadata } = event.metadata;
  return createHash('sha256')
    .update(canonicalJson({ type: event.type, data: event.data, metadata, prevHash }))
    .digest('hex');
}

/** JSON with object keys sorted at every depth, so the same content always gives the same bytes. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
}
