import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InProcessBus } from '@ledger/bus';
import type { ChannelAdapter, PushItem, PushOptions, PushOutcome } from '../channel-adapter';
import { LoggingChannelAdapter } from '../channel-adapter';
import { TransientChannelError } from '../http/retry';
import { ListingCatalog } from '../listings';
import { isNewer } from '../revision-rule';
import { AvailabilityConsumer } from '../sources/availability-consumer';
import { SqliteSyncStateStore } from '../state/sqlite-sync-state-store';
import { InMemoryAvailabilityStore } from '../state/sync-state-store';
import { ChannelSync } from './channel-sync';
import { isUrgent, PendingQueue } from './pending-queue';

const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };

/** An adapter that records each push and can be held, failed or made to refuse SKUs. */
class RecordingAdapter implements ChannelAdapter {
  readonly kind = 'recording';
  readonly pushes: PushItem[][] = [];
  readonly shown = new Map<string, number>();
  refuse = new Set<string>();
  failNext = 0;
  gate: Promise<void> | null = null;
  constructor(readonly plan = { maxBatchSize: 10 } as ChannelAdapter['plan']) {}

  async push(items: PushItem[], _options?: PushOptions): Promise<PushOutcome[]> {
    this.pushes.push(items);
    await this.gate;
    if (this.failNext-- > 0) throw new TransientChannelError('channel down', 1);
    return items.map((item) => {
      if (this.refuse.has(item.listing.sku)) return { sku: item.listing.sku, status: 'rejected', reason: 'no such listing' };
      this.shown.set(item.listing.sku, item.quantity);
      return { sku: item.listing.sku, status: 'applied', quantity: item.quantity };
    });
  }

  async readLive(): Promise<Map<string, number | null>> {
    return new Map();
  }
}

describe('the revision rule', () => {
  it('keeps the highest (revision, position) and drops anything older or equal', () => {
    expect(isNewer({ revision: 0, position: 1 }, undefined)).toBe(true);
    expect(isNewer({ revision: 5, position: 10 }, { revision: 4, position: 99 })).toBe(true);
    expect(isNewer({ revision: 4, position: 99 }, { revision: 5, position: 10 })).toBe(false);
    expect(isNewer({ revision: 5, position: 12 }, { revision: 5, position: 10 })).toBe(true);
    expect(isNewer({ revision: 5, position: 10 }, { revision: 5, position: 10 })).toBe(false);
  });
});

describe('PendingQueue', () => {
  it('keeps one count per SKU, urgent ones first, a replaced count keeping its place', () => {
    const queue = new PendingQueue();
    const count = (sku: string, available: number) => ({ sku, available, revision: available, position: available, receivedAt: 0 });
    queue.offer(count('A', 10), false);
    queue.offer(count('B', 20), false);
    expect(queue.offer(count('A', 11), false)).toBe(true);
    queue.offer(count('C', 0), true);
    expect(queue.take(10).map((entry) => `${entry.sku}=${entry.available}`)).toEqual(['C=0', 'A=11', 'B=20']);
    expect(queue.size).toBe(0);
  });

  it('calls crossing zero or a count at or below the low-stock mark urgent', () => {
    expect(isUrgent(0, 4, 2)).toBe(true);
    expect(isUrgent(6, 0, 2)).toBe(true);
    expect(isUrgent(2, 9, 2)).toBe(true);
    expect(isUrgent(30, 40, 2)).toBe(false);
    expect(isUrgent(1, 1, 2)).toBe(false);
  });
});

describe('ChannelSync', () => {
  const update = (sku: string, available: number, revision: number, position = revision) => ({ sku, available, revision, position });

  it('applies only newer counts per SKU, whatever the redelivery and reordering', async () => {
    const change = fc.record({ sku: fc.constantFrom('A', 'B', 'C'), available: fc.nat(50), bump: fc.constantFrom('revision', 'position') });
    await fc.assert(
      fc.asyncProperty(fc.array(change, { minLength: 1, maxLength: 30 }), fc.array(fc.nat(), { maxLength: 60 }), async (history, shuffle) => {
        const versions = new Map<string, { revision: number; position: number; available: number }>();
        let position = 0;
        const updates = history.map(({ sku, available, bump }) => {
          position += 1;
          const previous = versions.get(sku);
          const revision = previous === undefined ? 0 : bump === 'revision' ? previous.revision + 1 : previous.revision;
          versions.set(sku, { revision, position, available });
          return update(sku, available, revision, position);
        });
        const deliveries = [...updates, ...updates.filter((_, index) => index % 2 === 0)];
        for (let index = deliveries.length - 1; index > 0; index--) {
          const other = (shuffle[index % Math.max(1, shuffle.length)] ?? 0) % (index + 1);
          [deliveries[index], deliveries[other]] = [deliveries[other], deliveries[index]];
        }
        const adapter = new RecordingAdapter();
        const sync = new ChannelSync({ channel: 'amazon', adapter, logger: quiet });
        sync.start();
        for (const delivery of deliveries) sync.offer([delivery]);
        await sync.idle();
        await sync.stop();
        for (const [sku, version] of versions) {
          expect(sync.store.get(sku)).toEqual({ available: version.available, revision: version.revision, position: version.position });
          expect(adapter.shown.get(sku)).toBe(version.available);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('coalesces a burst: calls in proportion to SKUs touched, never a queue of stale values', async () => {
    const adapter = new RecordingAdapter({ maxBatchSize: 50 });
    let release!: () => void;
    adapter.gate = new Promise((resolve) => (release = resolve));
    const sync = new ChannelSync({ channel: 'web', adapter, logger: quiet });
    sync.start();
    sync.offer([update('first', 1, 0)]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // While that push is in flight, 1,000 changes to 100 SKUs arrive.
    for (let revision = 1; revision <= 10; revision++) for (let index = 0; index < 100; index++) sync.offer([update(`S${index}`, revision * 10 + index, revision)]);
    expect(sync.backlog().pending).toBe(100);
    adapter.gate = null;
    release();
    await sync.idle();
    await sync.stop();
    expect(adapter.pushes.map((batch) => batch.length)).toEqual([1, 50, 50]);
    for (let index = 0; index < 100; index++) expect(adapter.shown.get(`S${index}`)).toBe(100 + index);
  });

  it('pushes counts that cross zero first', async () => {
    const adapter = new RecordingAdapter({ maxBatchSize: 2 });
    const sync = new ChannelSync({ channel: 'web', adapter, logger: quiet, lowStockMark: 0 });
    sync.offer([update('A', 50, 0), update('B', 50, 0), update('C', 50, 0)]);
    sync.start();
    await sync.idle();
    adapter.pushes.length = 0;
    sync.offer([update('A', 40, 1), update('B', 30, 1), update('C', 0, 1)]);
    await sync.idle();
    await sync.stop();
    expect(adapter.pushes.map((batch) => batch.map((item) => item.listing.sku))).toEqual([['C', 'A'], ['B']]);
  });

  it('retries a failed push after a pause and records a refusal without stalling the rest', async () => {
    const adapter = new RecordingAdapter();
    adapter.failNext = 2;
    adapter.refuse.add('GONE');
    const sync = new ChannelSync({ channel: 'web', adapter, logger: quiet, backoff: { initialMs: 1, maxMs: 5 } });
    sync.start();
    sync.offer([update('A', 5, 0), update('GONE', 1, 0)]);
    await sync.idle();
    expect(adapter.shown.get('A')).toBe(5);
    expect(sync.store.state('GONE')).toMatchObject({ status: 'rejected', lastError: 'no such listing' });
    // A newer count makes a refused SKU pending again.
    adapter.refuse.clear();
    sync.offer([update('GONE', 2, 1)]);
    await sync.idle();
    await sync.stop();
    expect(adapter.shown.get('GONE')).toBe(2);
  });

  it('skips SKUs without a listing and pushes them once a listing appears', async () => {
    const adapter = new RecordingAdapter();
    const listings = new ListingCatalog([{ sku: 'A', externalId: 'a', channelSku: 'A' }]);
    const sync = new ChannelSync({ channel: 'web', adapter, listings, logger: quiet });
    sync.start();
    expect(sync.offer([update('A', 1, 0), update('B', 2, 0)])).toMatchObject({ accepted: 2, unlisted: 1 });
    await sync.idle();
    expect(adapter.shown.has('B')).toBe(false);
    sync.listingsAdded(listings.replace([...listings.all(), { sku: 'B', externalId: 'b', channelSku: 'B' }]));
    await sync.idle();
    await sync.stop();
    expect(adapter.shown.get('B')).toBe(2);
  });

  it('survives a restart on its SQLite file: nothing recorded is lost, nothing pushed is pushed again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'connector-sync-'));
    const path = join(dir, 'connector.db');
    const adapter = new RecordingAdapter();
    let sync = new ChannelSync({ channel: 'web', adapter, store: new SqliteSyncStateStore(path), logger: quiet });
    sync.start();
    sync.offer([update('A', 5, 0)], { name: 'cursor', value: '1' });
    await sync.idle();
    await sync.stop();
    // Recorded but not pushed when the process dies (the loop never started).
    sync = new ChannelSync({ channel: 'web', adapter, store: sync.store, logger: quiet });
    sync.offer([update('B', 7, 0), update('A', 6, 1)], { name: 'cursor', value: '3' });
    sync.store.close();
    const pushedBefore = adapter.pushes.flat().length;
    const store = new SqliteSyncStateStore(path);
    expect(store.cursor('cursor')).toBe('3');
    sync = new ChannelSync({ channel: 'web', adapter, store, logger: quiet });
    sync.start();
    await sync.idle();
    await sync.stop();
    expect(adapter.pushes.flat().slice(pushedBefore).map((item) => `${item.listing.sku}=${item.quantity}`).sort()).toEqual(['A=6', 'B=7']);
    // A replay of old counts after the restart is stale.
    expect(sync.offer([update('A', 5, 0), update('B', 7, 0)])).toMatchObject({ accepted: 0, stale: 2 });
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('AvailabilityConsumer (the Kafka source)', () => {
  it('ignores other channels, tombstones and values that are not availability messages', () => {
    const consumer = new AvailabilityConsumer({ bus: new InProcessBus(), topic: 't', channel: 'amazon', adapter: new LoggingChannelAdapter('amazon', quiet), logger: quiet });
    const message = (key: string, value: Buffer | null) => ({ topic: 't', partition: 0, offset: '0', key, value, headers: {} });
    const body = (channel: string) => Buffer.from(JSON.stringify({ sku: 'A', channel, available: 3, revision: 0, position: 1 }));
    consumer.handle(message('shopify:A', body('shopify')));
    consumer.handle(message('amazon:A', null));
    consumer.handle(message('amazon:A', Buffer.from('not json')));
    consumer.handle(message('amazon:eu:A', body('amazon:eu')));
    expect(consumer.stats.ignored).toBe(4);
    consumer.handle(message('amazon:A', body('amazon')));
    consumer.handle(message('amazon:A', body('amazon')));
    expect(consumer.stats).toMatchObject({ applied: 1, stale: 1 });
  });

  it('consumes through the bus port and resyncs from the ledger by the same rule', async () => {
    const bus = new InProcessBus({ logger: quiet });
    await bus.connect();
    const adapter = new LoggingChannelAdapter('amazon', quiet);
    const store = new InMemoryAvailabilityStore();
    const consumer = new AvailabilityConsumer({ bus, topic: 't', channel: 'amazon', adapter, store, logger: quiet });
    await consumer.start();
    const out = (sku: string, available: number, revision: number, position: number) => ({ topic: 't', key: `amazon:${sku}`, value: JSON.stringify({ sku, channel: 'amazon', available, revision, position }) });
    await bus.publish([out('A', 5, 0, 1), out('A', 4, 1, 3), out('A', 5, 0, 1)]);
    const fetch = (async (url: URL) =>
      new Response(JSON.stringify({ channel: 'amazon', items: url.searchParams.get('cursor') ? [] : [{ sku: 'B', available: 2, revision: 1, position: 12 }, { sku: 'A', available: 9, revision: 0, position: 1 }], nextCursor: url.searchParams.get('cursor') ? null : 'B' }), { status: 200 })) as unknown as typeof globalThis.fetch;
    expect(await consumer.resync('http://ledger:3000', 'token', { fetch })).toBe(2);
    while (consumer.stats.applied + consumer.stats.stale < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    await consumer.sync.idle();
    expect(store.get('A')).toEqual({ available: 4, revision: 1, position: 3 });
    expect(store.get('B')).toEqual({ available: 2, revision: 1, position: 12 });
    await consumer.stop();
    await bus.close();
  });
});
