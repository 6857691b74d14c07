import { AmazonFake } from '@test/channel-fakes';
import type { Listing } from '../../listings';
import { ConnectorMetrics } from '../../metrics';
import { channelAdapterContract } from '../../testing/channel-adapter.contract';
import { CachedAccessToken, lwaRefreshToken } from '../oauth-token';
import { AmazonAdapter, type AmazonAdapterOptions } from './amazon-adapter';

const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };
const MARKETPLACE = 'A21TJRUUN4KGV';
const listing = (index: number): Listing => ({ sku: `SKU-${index}`, externalId: `SELLER-${index}`, channelSku: `SELLER-${index}`, marketplaceId: MARKETPLACE, productType: 'SHIRT' });

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function setup(fakeOptions: ConstructorParameters<typeof AmazonFake>[0] = {}, adapterOptions: Partial<AmazonAdapterOptions> = {}, count = 3, renewBeforeMs = 60_000) {
  const fake = await new AmazonFake({ applyDelayMs: 10, feedProcessingMs: 60, ...fakeOptions }).start();
  const listings = Array.from({ length: count }, (_, index) => listing(index));
  for (const entry of listings) fake.addListing(entry.externalId, 'SHIRT', 10);
  const token = new CachedAccessToken(lwaRefreshToken({ tokenUrl: fake.lwaUrl, clientId: 'amzn1.application-oa2-client.test', clientSecret: 'amzn-secret', refreshToken: 'Atzr|refresh' }), renewBeforeMs);
  const metrics = new ConnectorMetrics('amazon-in', false);
  const adapter = new AmazonAdapter({ spApiUrl: fake.url, sellerId: fake.sellerId, marketplaceId: MARKETPLACE, token, channel: 'amazon-in', metrics, logger: quiet, patchRate: { ratePerSecond: 4.5, burst: 4 }, ...adapterOptions });
  return { fake, listings, adapter, metrics, token };
}

const item = (entry: Listing, quantity: number) => ({ listing: entry, quantity, expected: null, version: { revision: 1, position: 1 } });

channelAdapterContract('Amazon (Listings Items PATCH)', async () => {
  const { fake, listings, adapter } = await setup();
  return {
    adapter,
    listings,
    initial: 10,
    unknown: listing(99),
    shown: (entry) => fake.quantity(entry.externalId),
    applied: () => eventually(() => fake.inFlight() === 0),
    close: () => fake.close(),
  };
});

describe('AmazonAdapter against the SP-API fake', () => {
  it('PATCHes a merge of fulfillment_availability with DEFAULT; ACCEPTED is applied later by Amazon', async () => {
    const { fake, listings, adapter } = await setup({ applyDelayMs: 150 });
    const [outcome] = await adapter.push([item(listings[0], 4)]);
    expect(outcome).toMatchObject({ sku: listings[0].sku, status: 'accepted', quantity: 4 });
    expect(fake.quantity(listings[0].externalId)).toBe(10);
    await eventually(() => fake.quantity(listings[0].externalId) === 4);
    await fake.close();
  });

  it('keeps within the usage plan, and backs off when 429 QuotaExceeded comes anyway', async () => {
    const { fake, listings, adapter, metrics } = await setup({ limits: { patchListingsItem: [5, 2] } }, { patchRate: { ratePerSecond: 50, burst: 10 } }, 6);
    const outcomes = await adapter.push(listings.map((entry, index) => item(entry, index)));
    expect(outcomes.every((outcome) => outcome.status === 'accepted')).toBe(true);
    expect(fake.stats.throttled.patchListingsItem).toBeGreaterThan(0);
    const throttles = (await metrics.throttles.get()).values.reduce((sum, value) => sum + value.value, 0);
    expect(throttles).toBe(fake.stats.throttled.patchListingsItem);
    await fake.close();
  });

  it('sends one JSON_LISTINGS_FEED for a bulk push and follows it to its processing report', async () => {
    const { fake, listings, adapter } = await setup({}, {}, 60);
    const unknown = listing(500);
    const outcomes = await adapter.push([...listings.map((entry, index) => item(entry, index)), item(unknown, 1)], { bulk: true });
    expect(outcomes.every((outcome) => outcome.status === 'accepted')).toBe(true);
    expect(fake.stats.feedsCreated).toBe(1);
    expect(fake.stats.patches).toBe(0);
    expect(adapter.unsettled()).toBe(61);
    const verdicts: Awaited<ReturnType<AmazonAdapter['settle']>> = [];
    await eventually(async () => {
      verdicts.push(...(await adapter.settle()));
      return adapter.unsettled() === 0;
    });
    expect(verdicts.filter((verdict) => verdict.status === 'applied')).toHaveLength(60);
    expect(verdicts.find((verdict) => verdict.sku === unknown.sku)).toMatchObject({ status: 'rejected' });
    expect(listings.map((entry) => fake.quantity(entry.externalId))).toEqual(listings.map((_, index) => index));
    await fake.close();
  });

  it('uses at most the feeds a window allows, then PATCHes', async () => {
    const { fake, listings, adapter } = await setup({ feedsPerWindow: 1 }, { feedsPerWindow: 1 }, 4);
    expect(adapter.plan.bulk?.available()).toBe(true);
    await adapter.push(listings.slice(0, 2).map((entry) => item(entry, 1)), { bulk: true });
    expect(adapter.plan.bulk?.available()).toBe(false);
    const outcomes = await adapter.push(listings.slice(2).map((entry) => item(entry, 2)), { bulk: true });
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['accepted', 'accepted']);
    expect(fake.stats).toMatchObject({ feedsCreated: 1, patches: 2 });
    await fake.close();
  });

  it('gets the access token by the LWA refresh-token grant and renews it before it expires', async () => {
    const { fake, listings, adapter, token } = await setup({ tokenTtlSeconds: 61 }, {}, 1, 60_000);
    await adapter.push([item(listings[0], 1)]);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await adapter.push([item(listings[0], 2)]);
    expect(fake.stats.tokenRequests).toBe(2);
    expect(fake.stats.expiredTokenCalls).toBe(0);
    expect(token.renewals).toBe(2);
    await fake.close();
  });

  it('renews a token Amazon refuses (403) and repeats the call', async () => {
    const { fake, listings, adapter } = await setup({}, {}, 1);
    await adapter.push([item(listings[0], 1)]);
    fake.revokeTokens();
    const [outcome] = await adapter.push([item(listings[0], 2)]);
    expect(outcome.status).toBe('accepted');
    expect(fake.stats).toMatchObject({ tokenRequests: 2, refusedTokenCalls: 1 });
    await fake.close();
  });

  it('names the LWA error when the refresh token is wrong', async () => {
    const fake = await new AmazonFake().start();
    const token = new CachedAccessToken(lwaRefreshToken({ tokenUrl: fake.lwaUrl, clientId: 'amzn1.application-oa2-client.test', clientSecret: 'amzn-secret', refreshToken: 'wrong' }));
    await expect(token.get()).rejects.toThrow(/invalid_grant/);
    await fake.close();
  });
});
