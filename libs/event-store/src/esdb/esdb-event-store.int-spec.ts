import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { EsdbEmulator, type EsdbEmulatorOptions } from '@test/esdb-emulator';
import { EventStoreUnavailableError } from '../errors';
import type { EventToAppend, RecordedEvent, Subscription } from '../event-store.port';
import { describeEventStoreContract } from '../testing/event-store.contract';
import { EsdbEventStore, type EsdbEventStoreOptions } from './esdb-event-store';
import { EsdbAllSubscription } from './esdb-subscription';

const TEST_OPTIONS: Omit<EsdbEventStoreOptions, 'connectionString'> = {
  timeoutMs: 2_000,
  pingTimeoutMs: 500,
  reconnectDelayMs: { initial: 50, max: 400 },
};

// The emulator always runs; a real server too when EVENTSTORE_CONNECTION_STRING names one.
const realServer = process.env.EVENTSTORE_CONNECTION_STRING;
console.info(`EventStoreDB adapter: emulator${realServer ? ` and the server at ${realServer}` : ' only (set EVENTSTORE_CONNECTION_STRING for a real server)'}`);

describeOnEmulator('EventStoreDB (emulator, as 24.10)', {});
describeOnEmulator('EventStoreDB (emulator, as 20.10: no BatchAppend, no caught-up message, no idempotent position)', {
  batchAppend: false,
  caughtUpMessages: false,
  positionOnIdempotentAppend: false,
});

if (realServer) {
  describeEventStoreContract(`EventStoreDB (${realServer})`, async () => {
    let store = new EsdbEventStore({ connectionString: realServer, ...TEST_OPTIONS });
    return {
      store,
      async restart() {
        await store.close();
        store = new EsdbEventStore({ connectionString: realServer, ...TEST_OPTIONS });
        return store;
      },
      teardown: () => store.close(),
    };
  });

  it(`sees only the ledger's streams in $all on ${realServer}, which also holds the server's own`, async () => {
    const store = new EsdbEventStore({ connectionString: realServer, ...TEST_OPTIONS });
    try {
      await store.appendToStream(`inventory-${randomUUID()}`, [{ id: randomUUID(), type: 'inventory.tested.v1', data: {} }], {
        expectedRevision: 'no_stream',
      });
      const recent = await store.readAll({ direction: 'backwards', maxCount: 100 });
      expect(recent.length).toBeGreaterThan(0);
      expect(recent.every((event) => event.streamId.startsWith('inventory-') && !event.type.startsWith('$'))).toBe(true);
    } finally {
      await store.close();
    }
  });
}

function describeOnEmulator(name: string, options: EsdbEmulatorOptions): void {
  describe(name, () => {
    let emulator: EsdbEmulator;
    beforeAll(async () => {
      emulator = await EsdbEmulator.start(options);
    });
    afterAll(() => emulator.stop());

    // A restart here stops and starts the server as well: the data must survive it, and the client reconnect.
    describeEventStoreContract(name, async () => {
      let store = new EsdbEventStore({ connectionString: emulator.connectionString, ...TEST_OPTIONS });
      return {
        store,
        async restart() {
          await store.close();
          await emulator.stop();
          await emulator.start();
          store = new EsdbEventStore({ connectionString: emulator.connectionString, ...TEST_OPTIONS });
          return store;
        },
        teardown: () => store.close(),
      };
    });

    const [used, unused] = options.batchAppend === false ? (['append', 'batchAppend'] as const) : (['batchAppend', 'append'] as const);
    it(`appended through ${used}, the path the client takes with such a server`, () => {
      expect(emulator.callCount(used)).toBeGreaterThan(0);
      expect(emulator.callCount(unused)).toBe(0);
    });
  });
}

describe('EventStoreDB adapter, against the emulator', () => {
  let emulator: EsdbEmulator;
  let store: EsdbEventStore;
  const subscriptions: Subscription[] = [];

  beforeEach(async () => {
    emulator = await EsdbEmulator.start();
    store = new EsdbEventStore({ connectionString: emulator.connectionString, ...TEST_OPTIONS });
  });
  afterEach(async () => {
    await Promise.all(subscriptions.splice(0).map((subscription) => subscription.stop()));
    await store.close();
    await emulator.stop();
  });

  const events = (count: number, tag: string): EventToAppend[] =>
    Array.from({ length: count }, (_, index) => ({ id: randomUUID(), type: 'inventory.tested.v1', data: { tag, index } }));

  it('never hands out system events or other streams, reading or subscribed, though $all holds them', async () => {
    const stream = `inventory-${randomUUID()}`;
    await store.appendToStream(stream, events(2, 'a'), { expectedRevision: 'no_stream' });
    emulator.appendSystemEvent();
    emulator.appendSystemEvent('$$inventory-metadata', '$metadata');
    emulator.log.append('orders-1', { kind: 'any' }, [
      { id: randomUUID(), type: 'order.placed', contentType: 'application/json', data: Buffer.from('{}'), metadata: new Uint8Array() },
    ]);
    await store.appendToStream(stream, events(2, 'b'), { expectedRevision: 1 });
    emulator.appendSystemEvent();

    expect(emulator.log.all.filter((event) => !event.streamId.startsWith('inventory-')).length).toBeGreaterThanOrEqual(6);
    const all = await store.readAll();
    expect(all.map((event) => `${event.data.tag}${event.revision}`)).toEqual(['a0', 'a1', 'b2', 'b3']);
    const backwards = await store.readAll({ direction: 'backwards', maxCount: 3 });
    expect(backwards.map((event) => event.revision)).toEqual([3, 2, 1]);
    expect(await store.readAll({ after: all[1].position, maxCount: 1 })).toEqual([all[2]]);
    expect(await store.headPosition()).toBe(all[3].position);

    const seen: RecordedEvent[] = [];
    const caughtUp = new Promise<void>((resolve) => {
      subscriptions.push(store.subscribeToAll({ after: null }, { onEvents: (batch) => void seen.push(...batch), onCaughtUp: () => resolve() }));
    });
    await caughtUp;
    emulator.appendSystemEvent();
    await store.appendToStream(stream, events(1, 'c'), { expectedRevision: 3 });
    await waitFor(() => seen.length === 5);
    expect(seen.map((event) => event.id)).toEqual([...all, ...(await store.readAll({ after: all[3].position }))].map((e) => e.id));
    expect(seen.every((event) => event.streamId === stream)).toBe(true);
  });

  it.each([
    { when: 'the server says it (23.10+), onCaughtUp follows the events before that', caughtUpMessages: true },
    { when: 'the server is older and says nothing, only reaching the head can tell', caughtUpMessages: false },
  ])('caught-up: when $when', async ({ caughtUpMessages }) => {
    const server = await EsdbEmulator.start({ caughtUpMessages });
    const client = EventStoreDBClient.connectionString(server.connectionString);
    try {
      await client.appendToStream(`inventory-${randomUUID()}`, events(3, 'x').map((event) => jsonEvent(event)));
      const seen: RecordedEvent[] = [];
      const caughtUpAfter: number[] = [];
      const subscription = new EsdbAllSubscription(
        {
          client,
          streamPrefixes: ['inventory-'],
          // A head it never reaches: only the server's own message can say "caught up".
          headPosition: async () => Number.MAX_SAFE_INTEGER,
          reconnectDelayMs: { initial: 50, max: 400 },
          maxBatchSize: 1,
          onClosed: () => undefined,
        },
        null,
        { onEvents: (batch) => void seen.push(...batch), onCaughtUp: () => void caughtUpAfter.push(seen.length) },
      );
      subscriptions.push(subscription);
      await waitFor(() => seen.length === 3);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(caughtUpAfter).toEqual(caughtUpMessages ? [3] : []);
    } finally {
      await Promise.all(subscriptions.splice(0).map((subscription) => subscription.stop()));
      await client.dispose();
      await server.stop();
    }
  });

  it('resubscribes after the server goes away and comes back, delivering every event once and in order', async () => {
    const stream = `inventory-${randomUUID()}`;
    const seen: RecordedEvent[] = [];
    const stopped = jest.fn();
    subscriptions.push(
      store.subscribeToAll(
        { after: null, maxBatchSize: 3 },
        {
          // Slow on purpose, so the outage catches events received but not yet delivered.
          onEvents: async (batch) => {
            seen.push(...batch);
            await new Promise((resolve) => setTimeout(resolve, 15));
          },
          onStopped: stopped,
        },
      ),
    );
    let revision = -1;
    const append = async (count: number, tag: string) => {
      const result = await store.appendToStream(stream, events(count, tag), { expectedRevision: revision < 0 ? 'no_stream' : revision });
      revision = result.nextExpectedRevision;
    };
    for (let burst = 0; burst < 5; burst++) await append(6, `before-${burst}`);
    await waitFor(() => seen.length >= 3);

    await emulator.stop();
    expect(seen.length).toBeLessThan(30);
    // Another writer's events land while this client cannot see the server.
    emulator.log.append(stream, { kind: 'revision', revision }, events(4, 'during').map(toProposed));
    revision += 4;
    await new Promise((resolve) => setTimeout(resolve, 300));
    await emulator.start();
    for (let burst = 0; burst < 3; burst++) await append(5, `after-${burst}`);

    await waitFor(() => seen.length >= 49, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen.map((event) => event.revision)).toEqual(Array.from({ length: 49 }, (_, index) => index));
    expect(stopped).not.toHaveBeenCalled();
  });

  it('fails fast with EventStoreUnavailableError while the server is down, and recovers when it is back', async () => {
    const stream = `inventory-${randomUUID()}`;
    await store.appendToStream(stream, events(1, 'up'), { expectedRevision: 'no_stream' });
    expect(await store.ping()).toBe(true);

    await emulator.stop();
    const started = Date.now();
    await expect(store.appendToStream(stream, events(1, 'down'), { expectedRevision: 0 })).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(store.readStream(stream)).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(store.readAll()).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(store.headPosition()).rejects.toBeInstanceOf(EventStoreUnavailableError);
    expect(await store.ping()).toBe(false);
    expect(Date.now() - started).toBeLessThan(2_000);

    await emulator.start();
    expect(await store.ping()).toBe(true);
    await store.appendToStream(stream, events(1, 'again'), { expectedRevision: 0 });
    expect((await store.readStream(stream)).currentRevision).toBe(1);
  });

  it('gives up on a server that accepts connections but never answers, within the deadline', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const blackHole: Server = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const port = (blackHole.address() as { port: number }).port;
    const hung = new EsdbEventStore({ connectionString: `esdb://127.0.0.1:${port}?tls=false`, timeoutMs: 300, pingTimeoutMs: 300 });
    try {
      const started = Date.now();
      await expect(hung.appendToStream('inventory-x', events(1, 'x'), { expectedRevision: 'any' })).rejects.toBeInstanceOf(
        EventStoreUnavailableError,
      );
      await expect(hung.readStream('inventory-x')).rejects.toBeInstanceOf(EventStoreUnavailableError);
      expect(await hung.ping()).toBe(false);
      expect(Date.now() - started).toBeLessThan(2_500);
    } finally {
      await hung.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => blackHole.close(resolve));
    }
  });
});

function toProposed(event: EventToAppend) {
  return {
    id: event.id,
    type: event.type,
    contentType: 'application/json',
    data: Buffer.from(JSON.stringify(event.data)),
    metadata: new Uint8Array(),
  };
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
