import { Subject } from 'rxjs';
import { InProcessBus } from '@ledger/bus';
import { openReadModelDb, type AvailabilityChange, type ChannelAvailability } from '@ledger/projections';
import { AvailabilityRelay, type AvailabilityChangeLog } from './availability-relay';
import type { AvailabilityMessage } from './messages';
import { RelayCheckpointStore } from './relay-checkpoints';
import { eventually, FlakyBus, Inbox } from './testing/fixtures';

const TOPIC = 'inventory.availability.v1';
const RETRY = { initialDelayMs: 10, maxDelayMs: 40 };
const quietLogger = { log: () => undefined, warn: () => undefined, error: () => undefined };

/** A change log as the projection keeps it: rows in position order, all of one position together, prunable. */
class FakeChangeLog implements AvailabilityChangeLog {
  readonly rows: AvailabilityChange[] = [];
  /** The availability table: the latest count per key, which pruning the log does not touch. */
  private readonly table = new Map<string, ChannelAvailability>();
  prunedThrough: number | null = null;
  private position = 0;

  /** One ledger position changing these (channel, sku, available) counts; returns the position. */
  add(changes: [channel: string, sku: string, available: number][], revision?: number): number {
    this.position += 1;
    for (const [channel, sku, available] of changes) {
      const previous = this.latest(channel, sku);
      const row = { sku, channel, available, revision: revision ?? (previous ? previous.revision + 1 : 0), position: this.position, updatedAt: new Date().toISOString() };
      this.rows.push(row);
      this.table.set(`${channel}:${sku}`, row);
    }
    return this.position;
  }

  changesAfter(position: number): Iterable<AvailabilityChange> | null {
    if (this.prunedThrough !== null && position < this.prunedThrough) return null;
    return this.rows.filter((row) => row.position > position);
  }

  lastChangePosition(): number | null {
    return this.rows.length > 0 ? this.rows[this.rows.length - 1].position : null;
  }

  all(): ChannelAvailability[] {
    return [...this.table.values()];
  }

  prune(through: number): void {
    this.prunedThrough = through;
    this.rows.splice(0, this.rows.filter((row) => row.position <= through).length);
  }

  private latest(channel: string, sku: string): AvailabilityChange | undefined {
    return this.table.get(`${channel}:${sku}`);
  }
}

describe('AvailabilityRelay (in-process bus)', () => {
  let bus: InProcessBus;
  let flaky: FlakyBus;
  let log: FakeChangeLog;
  let checkpoints: RelayCheckpointStore;
  let wakeups: Subject<void>;
  let relays: AvailabilityRelay[];
  let inbox: Inbox<AvailabilityMessage>;

  beforeEach(async () => {
    bus = new InProcessBus({ logger: quietLogger });
    await bus.connect();
    flaky = new FlakyBus(bus);
    log = new FakeChangeLog();
    checkpoints = new RelayCheckpointStore(openReadModelDb(':memory:'));
    wakeups = new Subject();
    relays = [];
    inbox = await Inbox.on<AvailabilityMessage>(bus, [TOPIC]);
  });
  afterEach(async () => {
    await Promise.all(relays.map((relay) => relay.stop()));
    await bus.close();
  });

  const start = (options: ConstructorParameters<typeof AvailabilityRelay>[1] = {}) => {
    const failed: string[] = [];
    const relay = new AvailabilityRelay(
      { changeLog: () => log, bus: flaky, topic: TOPIC, checkpoints, wakeups, logger: quietLogger, metrics: { published: () => undefined, publishFailed: (r) => failed.push(r) } },
      { batchSize: 2, pollIntervalMs: 60_000, retry: RETRY, ...options },
    );
    relays.push(relay);
    relay.start();
    return { relay, failed };
  };

  const keyed = () => {
    const keys = new Map<string, AvailabilityMessage[]>();
    for (const message of inbox.messages) keys.set(message.key as string, [...(keys.get(message.key as string) ?? []), message.json]);
    return keys;
  };

  it('sends each change with key <channel>:<sku>, whole positions per send, checkpointed by position', async () => {
    for (let round = 0; round < 5; round++) {
      log.add([
        ['amazon', 'TEE', 10 - round],
        ['shopify', 'TEE', 20 - round],
        ['amazon', 'MUG', 5 + round],
      ]);
    }
    start();
    await eventually(() => checkpoints.load('availability') === 5);

    // batchSize 2, yet every send holds whole positions (3 changes each).
    expect(flaky.publishCalls.map((call) => call.length)).toEqual([3, 3, 3, 3, 3]);
    for (const call of flaky.publishCalls) expect(new Set(call.map((message) => JSON.parse(String(message.value)).position)).size).toBe(1);
    await eventually(() => inbox.messages.length === 15);
    const tee = keyed().get('amazon:TEE') ?? [];
    expect(tee.map((message) => message.available)).toEqual([10, 9, 8, 7, 6]);
    expect(tee[0]).toEqual({ sku: 'TEE', channel: 'amazon', available: 10, revision: 0, position: 1, emittedAt: expect.any(String) });
    expect(Object.keys(tee[0])).toEqual(['sku', 'channel', 'available', 'revision', 'position', 'emittedAt']);
  });

  it('wakes on AvailabilityChangedEvent at once, and polls when no wakeup comes', async () => {
    const { relay } = start();
    await eventually(async () => (await relay.status()).state === 'live');
    log.add([['amazon', 'TEE', 3]]);
    wakeups.next();
    await eventually(() => inbox.messages.length === 1, { timeoutMs: 1_000 });
    await relay.stop();

    const polling = start({ pollIntervalMs: 20 });
    await eventually(async () => (await polling.relay.status()).state === 'live');
    log.add([['amazon', 'TEE', 2]]);
    await eventually(() => inbox.messages.length === 2, { timeoutMs: 1_000 });
  });

  it('stalls on a failed send without skipping, shows the lag, and resumes from its checkpoint', async () => {
    log.add([['amazon', 'TEE', 10]]);
    const { relay, failed } = start();
    await eventually(() => checkpoints.load('availability') === 1);
    flaky.down = true;
    log.add([['amazon', 'TEE', 9]]);
    log.add([['amazon', 'TEE', 8], ['amazon', 'MUG', 1]]);
    wakeups.next();
    await eventually(() => failed.length >= 2);
    const stalled = await relay.status();
    expect(stalled).toMatchObject({ state: 'stalled', checkpoint: 1, head: 3, lagPositions: 2, lastError: 'broker unavailable (simulated)' });
    expect(stalled.lagMs).toBeGreaterThanOrEqual(0);

    flaky.down = false;
    await eventually(() => checkpoints.load('availability') === 3);
    await eventually(() => inbox.messages.length === 4);
    expect((keyed().get('amazon:TEE') ?? []).map((message) => message.available)).toEqual([10, 9, 8]);
    expect(await relay.status()).toMatchObject({ failures: 0, lastError: null, lagPositions: 0 });
  });

  it('a checkpoint write failing after the send resends that stretch: duplicates only', async () => {
    log.add([['amazon', 'TEE', 10]]);
    log.add([['amazon', 'TEE', 9]]);
    jest.spyOn(checkpoints, 'save').mockImplementationOnce(() => {
      throw new Error('disk full (simulated)');
    });
    start({ batchSize: 10 });
    await eventually(() => checkpoints.load('availability') === 2);
    await eventually(() => inbox.messages.length === 4);
    expect((keyed().get('amazon:TEE') ?? []).map((message) => message.position)).toEqual([1, 2, 1, 2]);
  });

  it('keeps the prune floor at its checkpoint, and sends a snapshot when the log was pruned past it', async () => {
    log.add([['amazon', 'TEE', 10]]);
    log.add([['amazon', 'MUG', 4]]);
    const { relay } = start();
    expect(relay.pruneFloor()).toBe(-1);
    await eventually(() => checkpoints.load('availability') === 2);
    expect(relay.pruneFloor()).toBe(2);
    await relay.stop();

    log.add([['amazon', 'TEE', 7]]);
    log.add([['amazon', 'TEE', 6], ['shopify', 'TEE', 6]]);
    log.add([['amazon', 'MUG', 3]]);
    log.prune(4);
    start({ batchSize: 10 });
    await eventually(() => checkpoints.load('availability') === 5);
    await eventually(() => inbox.messages.length === 5);
    const snapshot = inbox.messages.slice(2).map((message) => message.json);
    expect(snapshot.map(({ channel, sku, available, position }) => ({ channel, sku, available, position }))).toEqual(
      expect.arrayContaining([
        { channel: 'amazon', sku: 'TEE', available: 6, position: 4 },
        { channel: 'shopify', sku: 'TEE', available: 6, position: 4 },
        { channel: 'amazon', sku: 'MUG', available: 3, position: 5 },
      ]),
    );
  });
});
