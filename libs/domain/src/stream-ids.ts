/** The one place that names ledger streams, so adapters, projections and auditors agree on them. */
export const SKU_STREAM_PREFIX = 'inventory-sku-';
export const CHANNELS_STREAM_ID = 'inventory-channels';

export function skuStreamId(sku: string): string {
  return `${SKU_STREAM_PREFIX}${sku}`;
}

/** The SKU a stream belongs to, or null for streams that are not SKU streams. */
export function skuFromStreamId(streamId: string): string | null {
  return streamId.startsWith(SKU_STREAM_PREFIX) ? streamId.slice(SKU_STREAM_PREFIX.length) : null;
}

export function isLedgerStream(streamId: string): boolean {
  return streamId.startsWith(SKU_STREAM_PREFIX) || streamId === CHANNELS_STREAM_ID;
}
