import { CHANNELS_STREAM_ID, isLedgerStream, SKU_STREAM_PREFIX, skuFromStreamId, skuStreamId } from './stream-ids';

describe('stream ids', () => {
  it('names a SKU stream with the prefix and reads the SKU back', () => {
    expect(skuStreamId('SKU-1')).toBe('inventory-sku-SKU-1');
    expect(skuStreamId('SKU-1').startsWith(SKU_STREAM_PREFIX)).toBe(true);
    for (const sku of ['SKU-1', 'a', 'inventory-sku-nested', 'with space', 'ünï/✓']) expect(skuFromStreamId(skuStreamId(sku))).toBe(sku);
  });

  it('reads no SKU from other streams', () => {
    expect(skuFromStreamId(CHANNELS_STREAM_ID)).toBeNull();
    expect(skuFromStreamId('orders-1')).toBeNull();
    expect(skuFromStreamId('xinventory-sku-1')).toBeNull();
  });

  it('knows which streams belong to the ledger', () => {
    expect(isLedgerStream(skuStreamId('SKU-1'))).toBe(true);
    expect(isLedgerStream(CHANNELS_STREAM_ID)).toBe(true);
    expect(isLedgerStream('inventory-channels-old')).toBe(false);
    expect(isLedgerStream('$projections')).toBe(false);
    expect(CHANNELS_STREAM_ID.startsWith(SKU_STREAM_PREFIX)).toBe(false);
  });
});
