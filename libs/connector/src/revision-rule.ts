/** Where a count stands in the ledger: the SKU revision it reflects and the position that made it. */
export interface AvailabilityVersion {
  revision: number;
  position: number;
}

/**
 * The connector contract (libs/relay/README.md): per key, keep the highest (revision, position) and
 * drop anything older or equal. Revision first; an equal revision with a higher position is newer (a
 * channel's location list changed, which moves the count without a new SKU event). Redelivered and
 * reordered messages are therefore harmless.
 */
export function isNewer(incoming: AvailabilityVersion, current: AvailabilityVersion | undefined): boolean {
  if (!current) return true;
  if (incoming.revision !== current.revision) return incoming.revision > current.revision;
  return incoming.position > current.position;
}
