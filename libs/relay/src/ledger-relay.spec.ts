import { randomUUID } from 'node:crypto';
import { InProcessBus } from '@ledger/bus';
import { SqliteEventStore } from '@ledger/event-store';
import { openReadModelDb } from '@ledger/projections';
import { LedgerRelay } from './ledger-relay';
import type { LedgerEventMessage } from './messages';
import { RelayCheckpointStore } from './relay-checkpoints';
import { eventually, FlakyBus, Inbox } from './testing/fixtures';

const TOPIC = 'inventory.ledger.v1';
const RETRY = { initialDelayMs: 10, maxDelayMs: 40 };
const quietLogger = { log: () => undefined, warn: () => undefined, error: () => undefined };

describe('LedgerRelay (in-process bus, SQLite store)', () => {
  let store: SqliteEventStore;
  let bus: InProcessBus;
  let checkpoints: RelayCheckpointStore;
  let relays: LedgerRelay[];

  beforeEach(async () => {
    store = new SqliteEventStore({ path: ':memory:', pollIntervalMs: 20 });
    bus = new InProcessBus({ logger: quietLogger });
    await bus.connect();
    checkpoints = new RelayCheckpointStore(openReadModelDb(':memory:'));
    relays = [];
  });
  afterEach(async () => {
    await Promise.all(relays.map((relay) => relay.stop()));
    await bus.close();
    await store.close();
  });

  const relayOn = (target = bus as InProcessBus | FlakyBus, options: ConstructorParameters<typeof LedgerRelay>[1] = {}) => {
    const published: number[] = [];
    const failed: string[] = [];
    const relay = new LedgerRelay(
      { store, bus: target, topic: TOPIC, checkpoints, logger: quietLogger, metrics: { published: (_r, n) => published.push(n), publishFailed: (r) => failed.push(r) } },
      { batchSize: 7, retry: RETRY, ...options },
    );
    relays.push(relay);
    return { relay, published, failed };
  };

  /** Appends `count` events round-robin over SKUs A, B, C, with a channel event every 10th. */
  async function appendEvents(count: number, from = 0): Promise<void> {
    for (let index = from; index < from + count; index++) {
      const streamId = index % 10 === 9 ? 'inventory-channels' : `inventory-sku-${'ABC'[index % 3]}`;
      await store.appendToStream(
        streamId,
        [{ id: randomUUID(), type: index % 10 === 9 ? 'ChannelConfigured' : 'StockReceived', data: { n: index }, metadata: { correlationId: `corr-${index}`, occurredAt: new Date(1_700_000_000_000 + index).toISOString() } }],
        { expectedRevision: 'any' },
      );
    }
  }

  const byKey = (messages: Inbox<LedgerEventMessage>['messages']) => {
    const keys = new Map<string, number[]>();
    for (const message of messages) keys.set(message.key as string, [...(keys.get(message.key as string) ?? []), message.json.revision]);
    return keys;
  };

  it('publishes every event once, in order per key, with its headers and the documented value', async () => {
    await appendEvents(40);
    const inbox = await Inbox.on<LedgerEventMessage>(bus, [TOPIC]);
    const { relay, published } = relayOn();
    relay.start();
    await eventually(() => inbox.messages.length >= 40);
    await appendEvents(20, 40);
    await eventually(() => inbox.messages.length >= 60);
    await new Promise((resolve) => setTimeout(resolve, 50));

    expect(inbox.messages).toHaveLength(60);
    expect(new Set(inbox.messages.map((message) => message.json.eventId)).size).toBe(60);
    for (const [key, revisions] of byKey(inbox.messages)) {
      expect(revisions).toEqual(revisions.map((_, index) => index));
      expect(['A', 'B', 'C', 'inventory-channels']).toContain(key);
    }
    const channelEvent = inbox.messages.find((message) => message.key === 'inventory-channels');
    expect(channelEvent?.json).toMatchObject({ sku: null, type: 'ChannelConfigured' });
    const first = inbox.messages.find((message) => message.json.data.n === 0);
    expect(first?.headers).toEqual({ 'event-id': first?.json.eventId, 'event-type': 'StockReceived', 'correlation-id': 'corr-0' });
    expect(first?.json).toEqual({
      eventId: expect.any(String),
      type: 'StockReceived',
      sku: 'A',
      revision: 0,
      position: expect.any(Number),
      occurredAt: new Date(1_700_000_000_000).toISOString(),
      data: { n: 0 },
      metadata: { correlationId: 'corr-0', occurredAt: new Date(1_700_000_000_000).toISOString() },
    });
    expect(published.reduce((sum, n) => sum + n, 0)).toBe(60);
    expect(checkpoints.load('ledger')).toBe(await store.headPosition());
    const status = await relay.status();
    expect(status).toMatchObject({ state: 'live', lagPositions: 0, lagMs: 0, failures: 0 });
  });

  it('stores the checkpoint only after the send, and a restart goes on from it', async () => {
    await appendEvents(10);
    const inbox = await Inbox.on<LedgerEventMessage>(bus, [TOPIC]);
    const first = relayOn().relay;
    first.start();
    await eventually(() => inbox.messages.length === 10);
    await first.stop();
    const stopped = checkpoints.load('ledger');
    expect(stopped).toBe(await store.headPosition());

    await appendEvents(15, 10);
    const lagging = relayOn().relay;
    const status = await lagging.status();
    expect(status).toMatchObject({ state: 'stopped', checkpoint: stopped, lagPositions: 15 });
    expect(status.lagMs).toBeGreaterThanOrEqual(0);
    lagging.start();
    await eventually(() => inbox.messages.length >= 25);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(inbox.messages).toHaveLength(25);
    expect(inbox.messages.slice(10).map((message) => message.json.data.n as number).sort((a, b) => a - b)).toEqual([...Array(15).keys()].map((n) => n + 10));
  });

  it('stalls on a failed send, skips nothing, reports the lag and resumes from the checkpoint with backoff', async () => {
    await appendEvents(20);
    const flaky = new FlakyBus(bus);
    flaky.down = true;
    const inbox = await Inbox.on<LedgerEventMessage>(bus, [TOPIC]);
    const { relay, failed } = relayOn(flaky);
    relay.start();
    await eventually(() => failed.length >= 3);
    const stalled = await relay.status();
    expect(stalled).toMatchObject({ state: 'stalled', checkpoint: null, lagPositions: 20, lastError: 'broker unavailable (simulated)' });
    expect(stalled.failures).toBeGreaterThanOrEqual(3);
    expect(inbox.messages).toHaveLength(0);

    flaky.down = false;
    await eventually(() => inbox.messages.length >= 20);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(inbox.messages.map((message) => message.json.data.n as number).sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    expect(await relay.status()).toMatchObject({ state: 'live', failures: 0, lastError: null, lagPositions: 0 });
  });

  it('a checkpoint write failing after the send (a crash between the two) causes duplicates only', async () => {
    await appendEvents(20);
    const inbox = await Inbox.on<LedgerEventMessage>(bus, [TOPIC]);
    const save = jest.spyOn(checkpoints, 'save');
    save.mockImplementationOnce(() => {
      throw new Error('disk full (simulated)');
    });
    const { relay } = relayOn();
    relay.start();
    await eventually(async () => checkpoints.load('ledger') === (await store.headPosition()));

    // The first batch (7 events) went out twice; everything went out at least once, in order per key.
    expect(inbox.messages).toHaveLength(27);
    const ids = inbox.messages.map((message) => message.json.eventId);
    expect(new Set(ids).size).toBe(20);
    for (const revisions of byKey(inbox.messages).values()) {
      const applied: number[] = [];
      for (const revision of revisions) if (revision > (applied[applied.length - 1] ?? -1)) applied.push(revision);
      expect(applied).toEqual(applied.map((_, index) => index));
    }
  });
});
