import { createHash } from 'node:crypto';

// A fixed namespace so the same name always gives the same id, in every process and every adapter.
const LEDGER_NAMESPACE = Buffer.from('6f1c3a52b9e04f0f8d6e2b1c7a9d4e53', 'hex');

/** A name-based UUID (RFC 4122 version 5): the same command and index always give the same event id. */
export function deterministicUuid(name: string): string {
  const hash = createHash('sha1').update(LEDGER_NAMESPACE).update(name).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
