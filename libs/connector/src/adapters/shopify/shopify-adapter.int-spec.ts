import { ShopifyFake } from '@test/channel-fakes';
import type { Listing } from '../../listings';
import { ConnectorMetrics } from '../../metrics';
import { channelAdapterContract } from '../../testing/channel-adapter.contract';
import { ShopifyAdapter } from './shopify-adapter';

const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };
const listing = (index: number): Listing => ({ sku: `SKU-${index}`, externalId: `gid://shopify/InventoryItem/${1000 + index}`, channelSku: `SKU-${index}`, locationId: 'gid://shopify/Location/77' });

async function setup(options: ConstructorParameters<typeof ShopifyFake>[0] = {}, count = 3, initial = 10) {
  const fake = await new ShopifyFake(options).start();
  const listings = Array.from({ length: count }, (_, index) => listing(index));
  for (const entry of listings) fake.addLevel(entry.externalId, entry.locationId!, initial);
  const metrics = new ConnectorMetrics('web', false);
  const adapter = new ShopifyAdapter({ adminUrl: fake.url, accessToken: 'shpat_test', channel: 'web', metrics, logger: quiet });
  return { fake, listings, adapter, metrics };
}

channelAdapterContract('Shopify', async () => {
  const { fake, listings, adapter } = await setup();
  return {
    adapter,
    listings,
    initial: 10,
    unknown: listing(99),
    shown: (entry) => fake.level(entry.externalId, entry.locationId!).available,
    applied: async () => undefined,
    close: () => fake.close(),
  };
});

describe('ShopifyAdapter against the Shopify fake', () => {
  const item = (entry: Listing, quantity: number, expected: number | null, position = 1) => ({ listing: entry, quantity, expected, version: { revision: position, position } });

  it('sends inventorySetQuantities on the 2026-01 API with the token, a reason, the ledger position, changeFromQuantity and a fresh @idempotent key per request', async () => {
    const { fake, listings, adapter } = await setup();
    await adapter.push([item(listings[0], 4, 10, 41), item(listings[1], 5, 10, 42)]);
    await adapter.push([item(listings[0], 3, 4, 43)]);
    expect([...fake.versions]).toEqual(['2026-01']);
    expect(fake.mutations[0].input).toEqual({
      name: 'available',
      reason: 'correction',
      referenceDocumentUri: 'gid://inventory-ledger/LedgerPosition/42',
      quantities: [
        { inventoryItemId: listings[0].externalId, locationId: listings[0].locationId, quantity: 4, changeFromQuantity: 10 },
        { inventoryItemId: listings[1].externalId, locationId: listings[1].locationId, quantity: 5, changeFromQuantity: 10 },
      ],
    });
    const keys = fake['idempotency'] as Map<string, unknown>;
    expect(keys.size).toBe(2);
    await fake.close();
  });

  it('sets many SKUs in one call', async () => {
    const { fake, listings, adapter } = await setup({}, 100);
    const outcomes = await adapter.push(listings.map((entry, index) => item(entry, index, 10)));
    expect(outcomes.every((outcome) => outcome.status === 'applied')).toBe(true);
    expect(fake.stats.mutations).toBe(1);
    expect(fake.stats.maxQuantitiesPerCall).toBe(100);
    await fake.close();
  });

  it("never puts back units Shopify sold itself: a stale changeFromQuantity re-reads the level and sets the lower count", async () => {
    const { fake, listings, adapter } = await setup();
    const [first, second] = listings;
    // Shopify sells 3 of the first item before the ledger has heard of the order.
    expect(fake.sell(first.externalId, first.locationId!, 3)).toBe(true);
    const outcomes = await adapter.push([item(first, 10, 10), item(second, 6, 10)]);
    expect(outcomes).toEqual([
      { sku: first.sku, status: 'capped', quantity: 7, live: 7 },
      { sku: second.sku, status: 'applied', quantity: 6 },
    ]);
    expect(fake.level(first.externalId, first.locationId!)).toMatchObject({ available: 7, committed: 3, on_hand: 10 });
    expect(fake.stats.stale).toBe(1);
    // The ledger then counts the order: 7 left, set from what Shopify shows.
    expect(await adapter.push([item(first, 7, 7)])).toEqual([{ sku: first.sku, status: 'applied', quantity: 7 }]);
    // A ledger count below Shopify's after a sale there is set as it is.
    fake.sell(first.externalId, first.locationId!, 1);
    expect(await adapter.push([item(first, 2, 7)])).toEqual([{ sku: first.sku, status: 'applied', quantity: 2 }]);
    expect(fake.level(first.externalId, first.locationId!).available).toBe(2);
    await fake.close();
  });

  it('reads the level first when it does not know what Shopify shows', async () => {
    const { fake, listings, adapter } = await setup();
    expect(await adapter.push([item(listings[0], 4, null)])).toEqual([{ sku: listings[0].sku, status: 'applied', quantity: 4 }]);
    expect(fake.stats.queries).toBe(1);
    expect(fake.mutations[0].input.quantities[0].changeFromQuantity).toBe(10);
    await fake.close();
  });

  it('paces by the reported throttle status and waits out THROTTLED answers', async () => {
    const { fake, listings, adapter, metrics } = await setup({ maximumAvailable: 30, restoreRate: 200, mutationCost: 10 }, 3);
    for (let round = 0; round < 12; round++) {
      const outcomes = await Promise.all(listings.map((entry, index) => adapter.push([item(entry, round + index, null)])));
      expect(outcomes.flat().every((outcome) => outcome.status === 'applied')).toBe(true);
    }
    expect(listings.map((entry) => fake.level(entry.externalId, entry.locationId!).available)).toEqual([11, 12, 13]);
    const throttled = (await metrics.throttles.get()).values.reduce((sum, value) => sum + value.value, 0);
    expect(throttled).toBe(fake.stats.throttled);
    await fake.close();
  });

  it('refuses an API version before 2026-01', () => {
    expect(() => new ShopifyAdapter({ adminUrl: 'http://127.0.0.1:1', accessToken: 't', apiVersion: '2025-10', channel: 'web' })).toThrow(/2026-01 or later/);
  });
});
