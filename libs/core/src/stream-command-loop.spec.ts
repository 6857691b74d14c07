import { DomainError, channelsDecider, skuDecider, type ChannelCommand, type CommandResult, type InventoryEvent, type SkuCommand, type SkuState } from '@ledger/domain';
import { SqliteEventStore, type EventStore } from '@ledger/event-store';
import { GENESIS_HASH, chainHash, channelEvents, envelope, inventoryEvents, type CommandContext } from '@ledger/ledger-model';
import { ConcurrencyRetriesExhaustedError } from './command-context';
import { StreamCommandLoop, type StreamCommandLoopOptions } from './stream-command-loop';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const context = (commandId: string): CommandContext => ({ commandId, actor: 'test', role: 'ops', correlationId: 'c' });
const receive = (receiptId: string, quantity: number): SkuCommand => ({ type: 'ReceiveStock', receiptId, location: 'A', quantity, now: T0 });
const reserve = (reservationId: string, quantity: number): SkuCommand => ({
  type: 'ReserveStock',
  reservationId,
  channel: 'web',
  channelLocations: null,
  quantity,
  ttlSeconds: 60,
  now: T0,
});

type SkuLoop = StreamCommandLoop<SkuCommand, InventoryEvent, SkuState, CommandResult>;

describe('StreamCommandLoop', () => {
  let store: SqliteEventStore;
  const appends: number[] = [];
  const conflicts: string[] = [];

  const skuLoop = (options: Partial<StreamCommandLoopOptions<SkuCommand, InventoryEvent, SkuState, CommandResult>> = {}, on: EventStore = store): SkuLoop =>
    new StreamCommandLoop(on, {
      decider: skuDecider,
      codec: inventoryEvents,
      occurredAt: (command) => command.now,
      hooks: { appended: (commands) => appends.push(commands), conflicted: (streamId) => conflicts.push(streamId) },
      ...options,
    });

  beforeEach(() => {
    store = new SqliteEventStore({ path: ':memory:' });
    appends.length = 0;
    conflicts.length = 0;
  });
  afterEach(() => store.close());

  it('decides the commands that queue together against each other and appends them in one go', async () => {
    const loop = skuLoop();
    const outcomes = await Promise.all([
      loop.execute('s-1', receive('r1', 3), context('a')),
      loop.execute('s-1', reserve('h1', 2), context('b')),
      loop.execute('s-1', reserve('h2', 2), context('c')).catch((error: DomainError) => error),
    ]);
    // One append for the batch of three commands; the refused one adds no event.
    expect(appends).toEqual([3]);
    expect(outcomes[0]).toMatchObject({ revision: 1, duplicate: false, result: { receiptId: 'r1' } });
    expect(outcomes[1]).toMatchObject({ revision: 1, duplicate: false, result: { reservationId: 'h1', status: 'held' } });
    expect(outcomes[2]).toBeInstanceOf(DomainError);
    expect((outcomes[2] as DomainError).code).toBe('INSUFFICIENT_STOCK');
    const { events } = await store.readStream('s-1');
    expect(events.map((event) => event.metadata.commandId)).toEqual(['a', 'b']);
  });

  it('chains every event to the one before it, across batches', async () => {
    const loop = skuLoop();
    await loop.execute('s-1', receive('r1', 3), context('a'));
    await loop.execute('s-1', reserve('h1', 1), context('b'));
    const { events } = await store.readStream('s-1');
    let prevHash = GENESIS_HASH;
    for (const event of events) {
      expect(event.metadata.prevHash).toBe(prevHash);
      expect(chainHash(prevHash, event)).toBe(event.metadata.hash);
      prevHash = event.metadata.hash as string;
    }
  });

  it('answers a repeated command with its first result and appends nothing', async () => {
    const loop = skuLoop();
    const first = await loop.execute('s-1', receive('r1', 3), context('a'));
    const again = await loop.execute('s-1', receive('r1', 3), context('a'));
    expect(again).toEqual({ ...first, duplicate: true });
    expect(appends).toEqual([1]);
  });

  it('reloads and decides again when another writer moved the stream', async () => {
    const loop = skuLoop();
    await loop.execute('s-1', receive('r1', 1), context('a'));
    // Another instance sells the only unit behind this loop's cached state.
    const other = skuLoop({}, store);
    await other.execute('s-1', reserve('elsewhere', 1), context('x'));
    const refused = await loop.execute('s-1', reserve('h1', 1), context('b')).catch((error: DomainError) => error);
    expect(conflicts).toEqual(['s-1']);
    expect((refused as DomainError).code).toBe('INSUFFICIENT_STOCK');
    expect((await loop.read('s-1')).revision).toBe(1);
  });

  it('gives up after maxAttempts when the stream keeps moving', async () => {
    const moving: EventStore = Object.create(store);
    moving.appendToStream = async (streamId, events) => {
      // Someone else always gets there first.
      const { currentRevision } = await store.readStream(streamId);
      const rival = envelope(streamId, { type: 'inventory.stock-received.v1', data: { receiptId: `rival-${currentRevision}`, location: 'A', quantity: 1, reference: null } }, context('x'), T0, GENESIS_HASH);
      await store.appendToStream(streamId, [rival], { expectedRevision: 'any' });
      return store.appendToStream(streamId, events, { expectedRevision: currentRevision < 0 ? 'no_stream' : currentRevision });
    };
    const loop = skuLoop({ maxAttempts: 3 }, moving);
    const error = await loop.execute('s-1', receive('r1', 1), context('a')).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(ConcurrencyRetriesExhaustedError);
    expect(conflicts).toEqual(['s-1', 's-1', 's-1']);
  });

  it('passes a store failure to every caller of the batch and recovers on the next command', async () => {
    const failing: EventStore = Object.create(store);
    let fail = true;
    failing.appendToStream = (...args) => (fail ? Promise.reject(new Error('disk full')) : store.appendToStream(...args));
    const failed: string[] = [];
    const loop = skuLoop({ hooks: { failed: (streamId) => failed.push(streamId) } }, failing);
    const errors = await Promise.all([loop.execute('s-1', receive('r1', 1), context('a')), loop.read('s-1')].map((p) => p.catch((error: Error) => error.message)));
    expect(errors).toEqual(['disk full', 'disk full']);
    expect(failed).toEqual(['s-1']);
    fail = false;
    await expect(loop.execute('s-1', receive('r1', 1), context('a'))).resolves.toMatchObject({ revision: 0, duplicate: false });
  });

  it('shows reads the state after the batch they queued with, never half of it', async () => {
    const loop = skuLoop();
    const [, , view] = await Promise.all([loop.execute('s-1', receive('r1', 3), context('a')), loop.execute('s-1', reserve('h1', 2), context('b')), loop.read('s-1')]);
    expect(view.revision).toBe(1);
    expect(view.state.locations.get('A')).toMatchObject({ onHand: 3, reserved: 2 });
  });

  it('reloads on a fresh read, seeing what another writer appended', async () => {
    const loop = skuLoop();
    await loop.execute('s-1', receive('r1', 1), context('a'));
    await skuLoop().execute('s-1', receive('r2', 1), context('b'));
    expect((await loop.read('s-1')).revision).toBe(0);
    expect((await loop.read('s-1', { fresh: true })).revision).toBe(1);
  });

  it('evicts the least recently used streams past the cache bound and reloads them when asked', async () => {
    const loop = skuLoop({ cache: { maxStreams: 2, maxRecords: 1_000, recordsOf: (state) => state.receipts.size } });
    for (const sku of ['s-1', 's-2', 's-3']) await loop.execute(sku, receive('r1', 1), context(sku));
    expect(loop.peek('s-1')).toBeUndefined();
    expect(loop.peek('s-3')?.revision).toBe(0);
    expect((await loop.read('s-1')).state.receipts.size).toBe(1);
  });

  it('runs the channel decider the same way, refusals included', async () => {
    const loop = new StreamCommandLoop(store, { decider: channelsDecider, codec: channelEvents, occurredAt: (command: ChannelCommand) => command.now });
    const set = await loop.execute('channels', { type: 'ConfigureChannel', channel: 'web', locations: ['A'], now: T0 }, context('a'));
    expect(set).toMatchObject({ result: { channel: 'web', locations: ['A'] }, revision: 0, duplicate: false });
    const refused = await loop.execute('channels', { type: 'ConfigureChannel', channel: 'web', locations: ['A', 'A'], now: T0 }, context('b')).catch((error: DomainError) => error);
    expect((refused as DomainError).code).toBe('INVALID_COMMAND');
    expect(loop.peek('channels')?.state.get('web')).toEqual(['A']);
  });
});
