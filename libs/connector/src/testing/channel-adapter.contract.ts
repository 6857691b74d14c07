import type { ChannelAdapter, PushItem, PushOutcome } from '../channel-adapter';
import type { Listing } from '../listings';

/** What the contract suite needs from each adapter's test setup. */
export interface AdapterHarness {
  adapter: ChannelAdapter;
  /** At least three listings the channel knows, each showing `initial`. */
  listings: Listing[];
  initial: number;
  /** A listing the channel does not know. */
  unknown: Listing;
  /** What the channel shows, read from the fake itself. */
  shown(listing: Listing): number | null;
  /** Waits until the channel has applied what it accepted (Amazon processes later). */
  applied(): Promise<void>;
  close(): Promise<void>;
}

let position = 0;
function item(listing: Listing, quantity: number, expected: number | null): PushItem {
  position += 1;
  return { listing, quantity, expected, version: { revision: position, position } };
}

const took = (outcome: PushOutcome) => outcome.status === 'applied' || outcome.status === 'accepted';

/** One behaviour for every ChannelAdapter, each against its channel's fake. */
export function channelAdapterContract(name: string, setup: () => Promise<AdapterHarness>): void {
  describe(`ChannelAdapter contract: ${name}`, () => {
    let harness: AdapterHarness;
    beforeEach(async () => {
      harness = await setup();
    });
    afterEach(async () => {
      await harness.close();
    });

    it('pushes a batch: one outcome per SKU, and the channel shows each count', async () => {
      const counts = harness.listings.map((_, index) => 7 + index);
      const outcomes = await harness.adapter.push(harness.listings.map((listing, index) => item(listing, counts[index], harness.initial)));
      expect(outcomes.map((outcome) => outcome.sku).sort()).toEqual(harness.listings.map((listing) => listing.sku).sort());
      expect(outcomes.every(took)).toBe(true);
      await harness.applied();
      expect(harness.listings.map((listing) => harness.shown(listing))).toEqual(counts);
    });

    it('sets zero like any other count, and pushing the same count again changes nothing', async () => {
      const [listing] = harness.listings;
      expect(took((await harness.adapter.push([item(listing, 0, harness.initial)]))[0])).toBe(true);
      await harness.applied();
      expect(took((await harness.adapter.push([item(listing, 0, 0)]))[0])).toBe(true);
      await harness.applied();
      expect(harness.shown(listing)).toBe(0);
    });

    it('reads live quantities, null for a listing the channel does not have', async () => {
      const live = await harness.adapter.readLive([...harness.listings, harness.unknown]);
      for (const listing of harness.listings) expect(live.get(listing.sku)).toBe(harness.initial);
      expect(live.get(harness.unknown.sku)).toBeNull();
    });

    it('refuses an unknown listing for that SKU alone; the rest of the batch goes through', async () => {
      const [first, second] = harness.listings;
      const outcomes = await harness.adapter.push([item(first, 3, harness.initial), item(harness.unknown, 4, harness.initial), item(second, 5, harness.initial)]);
      const bySku = new Map(outcomes.map((outcome) => [outcome.sku, outcome]));
      expect(bySku.get(harness.unknown.sku)?.status).toBe('rejected');
      expect(took(bySku.get(first.sku)!) && took(bySku.get(second.sku)!)).toBe(true);
      await harness.applied();
      expect([harness.shown(first), harness.shown(second)]).toEqual([3, 5]);
    });
  });
}
