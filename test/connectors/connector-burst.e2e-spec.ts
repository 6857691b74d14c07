import { Connector, type Listing } from '@ledger/connector';
import { AmazonFake, FakeLedger, FlipkartFake, ShopifyFake } from '../support/channel-fakes';
import { burst, connectorConfig, eventually, quietLogger, tempDir } from './support';

/**
 * One connector per channel, started as `npm run connector` starts it (SSE source, listings from the
 * ledger), takes a burst of counts from the ledger's stream: every listed SKU ends with exactly the
 * ledger's final count, within each fake's limits, in calls proportional to SKUs, not to changes.
 */
describe('connectors under a burst of changes', () => {
  const skuName = (index: number) => `SKU-${String(index).padStart(4, '0')}`;

  it('Shopify: 10,000 changes over 1,000 SKUs', async () => {
    const dir = tempDir();
    const shopify = await new ShopifyFake({ maximumAvailable: 1000, restoreRate: 500 }).start();
    const ledger = await new FakeLedger().start();
    const listings: Listing[] = Array.from({ length: 1000 }, (_, index) => ({ sku: skuName(index), externalId: String(5000 + index), channelSku: skuName(index), locationId: '77' }));
    for (const listing of listings) shopify.addLevel(listing.externalId, '77', 0);
    ledger.setListings('web', listings);
    const connector = await Connector.start(
      connectorConfig({ channel: 'web', kind: 'shopify', ledgerUrl: ledger.url, dataDir: dir.path, shopify: { adminUrl: shopify.url, accessToken: 'shpat_test', apiVersion: '2026-01', webhookSecret: 's', batchSize: 100 } }),
      { logger: quietLogger },
    );
    try {
      const final = burst(1000, 10_000, (sku, available) => ledger.change('web', sku, available));
      await eventually(() => [...final].every(([sku, available]) => connector.store.state(sku)?.desired.available === available), 60_000, 'all changes received');
      await connector.sync.idle(120_000);
      for (const listing of listings) expect({ sku: listing.sku, shown: shopify.level(listing.externalId, '77').available }).toEqual({ sku: listing.sku, shown: final.get(listing.sku) ?? 0 });
      // Calls in proportion to SKUs touched: far fewer than the 10,000 changes, each within the bucket.
      expect(shopify.stats.mutations).toBeLessThan(200);
      expect(shopify.stats.maxQuantitiesPerCall).toBeLessThanOrEqual(100);
      expect(shopify.stats.minCurrentlyAvailable).toBeGreaterThanOrEqual(0);
    } finally {
      await connector.stop();
      await Promise.all([shopify.close(), ledger.close()]);
      dir.remove();
    }
  });

  it('Flipkart: 10,000 changes over 1,000 SKUs, 10 per call, never throttled', async () => {
    const dir = tempDir();
    const flipkart = await new FlipkartFake({ rate: [60, 20] }).start();
    const ledger = await new FakeLedger().start();
    const listings: Listing[] = Array.from({ length: 1000 }, (_, index) => ({ sku: skuName(index), externalId: `FSN${String(index).padStart(13, '0')}`, channelSku: `FK-${index}`, locationId: 'LOC1' }));
    for (const listing of listings) flipkart.addListing(listing.channelSku, listing.externalId, 'LOC1', 0);
    ledger.setListings('flipkart', listings);
    const connector = await Connector.start(
      connectorConfig({
        channel: 'flipkart',
        kind: 'flipkart',
        ledgerUrl: ledger.url,
        dataDir: dir.path,
        flipkart: { apiUrl: flipkart.url, clientId: 'fk-app', clientSecret: 'fk-secret', pollIntervalMs: 3_600_000, rate: { ratePerSecond: 50, burst: 10 } },
      }),
      { logger: quietLogger },
    );
    try {
      const final = burst(1000, 10_000, (sku, available) => ledger.change('flipkart', sku, available));
      await eventually(() => [...final].every(([sku, available]) => connector.store.state(sku)?.desired.available === available), 60_000, 'all changes received');
      await connector.sync.idle(120_000);
      for (const listing of listings) expect({ sku: listing.sku, shown: flipkart.inventory(listing.channelSku, 'LOC1') }).toEqual({ sku: listing.sku, shown: final.get(listing.sku) ?? 0 });
      expect(flipkart.stats.maxSkusPerCall).toBeLessThanOrEqual(10);
      expect(flipkart.stats.throttled).toBe(0);
      expect(flipkart.stats.inventoryCalls).toBeLessThan(400);
    } finally {
      await connector.stop();
      await Promise.all([flipkart.close(), ledger.close()]);
      dir.remove();
    }
  });

  it('Amazon: a smaller burst (2,000 changes over 200 SKUs) goes by feeds, then PATCHes, within the usage plans', async () => {
    const dir = tempDir();
    const amazon = await new AmazonFake({ applyDelayMs: 10, feedProcessingMs: 100, feedsPerWindow: 5, feedWindowMs: 300_000 }).start();
    const ledger = await new FakeLedger().start();
    const listings: Listing[] = Array.from({ length: 200 }, (_, index) => ({ sku: skuName(index), externalId: `AMZ-${index}`, channelSku: `AMZ-${index}`, marketplaceId: 'A21TJRUUN4KGV', productType: 'SHIRT' }));
    for (const listing of listings) amazon.addListing(listing.externalId, 'SHIRT', 0);
    ledger.setListings('amazon-in', listings);
    const connector = await Connector.start(
      connectorConfig({
        channel: 'amazon-in',
        kind: 'amazon',
        ledgerUrl: ledger.url,
        dataDir: dir.path,
        amazon: {
          spApiUrl: amazon.url,
          sellerId: amazon.sellerId,
          marketplaceId: 'A21TJRUUN4KGV',
          lwaUrl: amazon.lwaUrl,
          clientId: 'amzn1.application-oa2-client.test',
          clientSecret: 'amzn-secret',
          refreshToken: 'Atzr|refresh',
          feedThreshold: 20,
          feedsPerWindow: 5,
          feedWindowMs: 300_000,
          patchRate: { ratePerSecond: 4.5, burst: 4 },
          settleMs: 0,
        },
      }),
      { logger: quietLogger },
    );
    try {
      const final = burst(200, 2_000, (sku, available) => ledger.change('amazon-in', sku, available));
      await eventually(() => [...final].every(([sku, available]) => connector.store.state(sku)?.desired.available === available), 60_000, 'all changes received');
      await connector.sync.idle(120_000);
      await eventually(() => amazon.inFlight() === 0, 10_000, 'Amazon applied');
      for (const listing of listings) expect({ sku: listing.sku, shown: amazon.quantity(listing.externalId) }).toEqual({ sku: listing.sku, shown: final.get(listing.sku) ?? 0 });
      expect(amazon.stats.feedsCreated).toBeGreaterThanOrEqual(1);
      expect(amazon.stats.feedsCreated).toBeLessThanOrEqual(5);
      expect(amazon.throttledTotal()).toBe(0);
      // The lag Amazon imposes is published (feed verdicts observed).
      expect(await connector.metrics.registry.getSingleMetricAsString('connector_channel_visible_lag_seconds')).toMatch(/connector_channel_visible_lag_seconds_count\{channel="amazon-in"\} [1-9]/);
    } finally {
      await connector.stop();
      await Promise.all([amazon.close(), ledger.close()]);
      dir.remove();
    }
  });
});
