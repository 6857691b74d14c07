import { FlipkartFake } from '@test/channel-fakes';
import { AdapterRejectedError } from '../../http/retry';
import type { Listing } from '../../listings';
import { channelAdapterContract } from '../../testing/channel-adapter.contract';
import { CachedAccessToken, flipkartClientCredentials } from '../oauth-token';
import { FlipkartAdapter } from './flipkart-adapter';

const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };
const LOCATION = 'LOCa1b2c3';
const listing = (index: number): Listing => ({ sku: `SKU-${index}`, externalId: `TSHFX${String(index).padStart(11, '0')}`, channelSku: `FK-${index}`, locationId: LOCATION });

async function setup(count = 3, secret = 'fk-secret') {
  const fake = await new FlipkartFake({ rate: [50, 20] }).start();
  const listings = Array.from({ length: count }, (_, index) => listing(index));
  for (const entry of listings) fake.addListing(entry.channelSku, entry.externalId, LOCATION, 10);
  const token = new CachedAccessToken(flipkartClientCredentials({ apiUrl: fake.url, clientId: 'fk-app', clientSecret: secret }));
  const adapter = new FlipkartAdapter({ apiUrl: fake.url, token, channel: 'flipkart', logger: quiet, rate: { ratePerSecond: 40, burst: 10 } });
  return { fake, listings, adapter };
}

const item = (entry: Listing, quantity: number) => ({ listing: entry, quantity, expected: null, version: { revision: 1, position: 1 } });

channelAdapterContract('Flipkart', async () => {
  const { fake, listings, adapter } = await setup();
  return {
    adapter,
    listings,
    initial: 10,
    unknown: listing(99),
    shown: (entry) => fake.inventory(entry.channelSku, LOCATION) ?? null,
    applied: async () => undefined,
    close: () => fake.close(),
  };
});

describe('FlipkartAdapter against the Flipkart fake', () => {
  it('sends at most 10 SKUs per call', async () => {
    const { fake, listings, adapter } = await setup(25);
    const outcomes = await adapter.push(listings.map((entry, index) => item(entry, index)));
    expect(outcomes.every((outcome) => outcome.status === 'applied')).toBe(true);
    expect(fake.stats).toMatchObject({ inventoryCalls: 3, maxSkusPerCall: 10 });
    expect(listings.map((entry) => fake.inventory(entry.channelSku, LOCATION))).toEqual(listings.map((_, index) => index));
    await fake.close();
  });

  it('handles SUCCESS, WARNING and FAILURE one SKU at a time', async () => {
    const { fake, listings, adapter } = await setup(3);
    fake.warnFor(listings[1].channelSku);
    fake.failNext(listings[2].channelSku);
    const outcomes = await adapter.push(listings.map((entry) => item(entry, 4)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['applied', 'applied', 'rejected']);
    expect(outcomes[2]).toMatchObject({ reason: expect.stringContaining('INTERNAL_ERROR') });
    expect(listings.map((entry) => fake.inventory(entry.channelSku, LOCATION))).toEqual([4, 4, 10]);
    await fake.close();
  });

  it('takes its token by the client-credentials grant once, and fails clearly on bad credentials', async () => {
    const { fake, listings, adapter } = await setup(2);
    await adapter.push([item(listings[0], 1)]);
    await adapter.push([item(listings[1], 1)]);
    expect(fake.stats.tokenRequests).toBe(1);
    await fake.close();
    const wrong = await setup(1, 'nope');
    await expect(wrong.adapter.push([item(wrong.listings[0], 1)])).rejects.toThrow(AdapterRejectedError);
    await expect(wrong.adapter.push([item(wrong.listings[0], 1)])).rejects.toThrow(/Bad credentials/);
    await wrong.fake.close();
  });
});
