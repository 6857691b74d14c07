import { randomUUID } from 'node:crypto';
import { WrongExpectedRevisionError } from '../errors';
import type { EventStore, EventToAppend, RecordedEvent } from '../event-store.port';

export interface EventStoreFixture {
  store: EventStore;
  /** Closes the store and opens it again on the same data (absent where the adapter cannot). */
  restart?(): Promise<EventStore>;
  teardown(): Promise<void>;
}

/**
 * What every adapter of the port promises. Each adapter's spec calls this once; streams get fresh
 * names so the suite also runs against a real server that keeps earlier data.
 */
export function describeEventStoreContract(adapter: string, setup: () => Promise<EventStoreFixture>): void {
  describe(`EventStore contract: ${adapter}`, () => {
    let fixture: EventStoreFixture;
    let store: EventStore;

    beforeEach(async () => {
      fixture = await setup();
      store = fixture.store;
    });
    afterEach(async () => fixture.teardown());

    const stream = () => `inventory-contract-${randomUUID()}`;
    const events = (count: number, tag = 'e'): EventToAppend[] =>
      Array.from({ length: count }, (_, index) => ({
        id: randomUUID(),
        type: 'inventory.contract-tested.v1',
        data: { tag, index },
        metadata: { actor: 'contract' },
      }));

    describe('reading a stream', () => {
      it('given no stream, reports that it does not exist', async () => {
        const result = await store.readStream(stream());
        expect(result).toEqual({ streamExists: false, currentRevision: -1, events: [] });
      });

      it('given appended events, returns them in order with revisions, positions and payloads', async () => {
        const id = stream();
        const appended = events(3);
        appended[1].data = { text: 'unicode ✓ ünïcödé 📦', nested: { list: [1, 2, { deep: true }] } };
        await store.appendToStream(id, appended, { expectedRevision: 'no_stream' });
        const result = await store.readStream(id);
        expect(result.streamExists).toBe(true);
        expect(result.currentRevision).toBe(2);
        expect(result.events.map((event) => event.revision)).toEqual([0, 1, 2]);
        expect(result.events.map((event) => event.id)).toEqual(appended.map((event) => event.id));
        expect(result.events[1].data).toEqual(appended[1].data);
        expect(result.events[0].metadata).toMatchObject({ actor: 'contract' });
        expect(result.events.every((event) => event.streamId === id && event.type === 'inventory.contract-tested.v1')).toBe(true);
        expect(Number.isNaN(Date.parse(result.events[0].recordedAt))).toBe(false);
        const positions = result.events.map((event) => event.position);
        expect([...positions].sort((a, b) => a - b)).toEqual(positions);
        expect(new Set(positions).size).toBe(3);
      });

      it('given a revision and a count, returns that slice, forwards and backwards', async () => {
        const id = stream();
        await store.appendToStream(id, events(5), { expectedRevision: 'no_stream' });
        const forwards = await store.readStream(id, { fromRevision: 1, maxCount: 2 });
        expect(forwards.events.map((event) => event.revision)).toEqual([1, 2]);
        const backwards = await store.readStream(id, { direction: 'backwards', maxCount: 2 });
        expect(backwards.events.map((event) => event.revision)).toEqual([4, 3]);
        const backFrom = await store.readStream(id, { direction: 'backwards', fromRevision: 2 });
        expect(backFrom.events.map((event) => event.revision)).toEqual([2, 1, 0]);
      });
    });

    describe('appending with an expected revision', () => {
      it('given no stream, no_stream creates it', async () => {
        const result = await store.appendToStream(stream(), events(2), { expectedRevision: 'no_stream' });
        expect(result.nextExpectedRevision).toBe(1);
        expect(result.position).toBeGreaterThanOrEqual(0);
      });

      it('given a stream, no_stream is refused with the actual revision', async () => {
        const id = stream();
        await store.appendToStream(id, events(2), { expectedRevision: 'no_stream' });
        const error = await store.appendToStream(id, events(1), { expectedRevision: 'no_stream' }).catch((e) => e);
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error.actual).toBe(1);
        expect((await store.readStream(id)).events).toHaveLength(2);
      });

      it('given a stream, the exact revision appends and a stale one is refused', async () => {
        const id = stream();
        await store.appendToStream(id, events(2), { expectedRevision: 'no_stream' });
        const next = await store.appendToStream(id, events(1), { expectedRevision: 1 });
        expect(next.nextExpectedRevision).toBe(2);
        const error = await store.appendToStream(id, events(1), { expectedRevision: 1 }).catch((e) => e);
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error.actual).toBe(2);
      });

      it('given no stream, an exact revision or stream_exists is refused', async () => {
        const id = stream();
        await expect(store.appendToStream(id, events(1), { expectedRevision: 0 })).rejects.toBeInstanceOf(WrongExpectedRevisionError);
        await expect(store.appendToStream(id, events(1), { expectedRevision: 'stream_exists' })).rejects.toBeInstanceOf(
          WrongExpectedRevisionError,
        );
        expect((await store.readStream(id)).streamExists).toBe(false);
      });

      it('given any stream state, any appends', async () => {
        const id = stream();
        await store.appendToStream(id, events(1), { expectedRevision: 'any' });
        const result = await store.appendToStream(id, events(1), { expectedRevision: 'any' });
        expect(result.nextExpectedRevision).toBe(1);
      });

      it('when many writers append with the same expected revision at once, exactly one wins', async () => {
        const id = stream();
        await store.appendToStream(id, events(1), { expectedRevision: 'no_stream' });
        const outcomes = await Promise.allSettled(
          Array.from({ length: 20 }, (_, writer) => store.appendToStream(id, events(1, `w${writer}`), { expectedRevision: 0 })),
        );
        const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
        const lost = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost.every((outcome) => outcome.reason instanceof WrongExpectedRevisionError)).toBe(true);
        expect((await store.readStream(id)).events).toHaveLength(2);
      });

      it('when an append is retried with the same event ids, it is stored once and answered the same', async () => {
        const id = stream();
        const batch = events(3);
        const first = await store.appendToStream(id, batch, { expectedRevision: 'no_stream' });
        const retry = await store.appendToStream(id, batch, { expectedRevision: 'no_stream' });
        expect(retry).toEqual(first);
        expect((await store.readStream(id)).events).toHaveLength(3);
      });
    });

    describe('the global order', () => {
      it('reads events after a position, exclusive, forwards and backwards', async () => {
        const before = await store.headPosition();
        const a = stream();
        const b = stream();
        await store.appendToStream(a, events(2, 'a'), { expectedRevision: 'no_stream' });
        await store.appendToStream(b, events(2, 'b'), { expectedRevision: 'no_stream' });
        await store.appendToStream(a, events(1, 'a'), { expectedRevision: 1 });
        const mine = (list: RecordedEvent[]) => list.filter((event) => event.streamId === a || event.streamId === b);
        const all = mine(await store.readAll({ after: before }));
        expect(all.map((event) => `${event.streamId === a ? 'a' : 'b'}${event.revision}`)).toEqual(['a0', 'a1', 'b0', 'b1', 'a2']);
        const afterSecond = mine(await store.readAll({ after: all[1].position }));
        expect(afterSecond.map((event) => event.id)).toEqual(all.slice(2).map((event) => event.id));
        const limited = await store.readAll({ after: before, maxCount: 2 });
        expect(limited.map((event) => event.id)).toEqual(all.slice(0, 2).map((event) => event.id));
        const backwards = mine(await store.readAll({ direction: 'backwards', after: all[4].position, maxCount: 10 }));
        expect(backwards.map((event) => event.id).slice(0, 4)).toEqual(all.slice(0, 4).reverse().map((event) => event.id));
        expect(await store.headPosition()).toBe(all[4].position);
      });

      it('subscribes from a position: stored events first, then live ones, in order, with caught-up', async () => {
        const id = stream();
        await store.appendToStream(id, events(3), { expectedRevision: 'no_stream' });
        const [, second] = (await store.readStream(id)).events;
        const seen: RecordedEvent[] = [];
        let caughtUp = false;
        const done = new Promise<void>((resolve) => {
          const subscription = store.subscribeToAll(
            { after: second.position },
            {
              onEvents: (batch) => {
                seen.push(...batch.filter((event) => event.streamId === id));
                if (seen.length === 2) void subscription.stop().then(resolve);
              },
              onCaughtUp: () => {
                caughtUp = true;
              },
            },
          );
        });
        await waitFor(() => caughtUp);
        await store.appendToStream(id, events(1, 'live'), { expectedRevision: 2 });
        await done;
        expect(seen.map((event) => event.revision)).toEqual([2, 3]);
        expect(seen[1].data).toMatchObject({ tag: 'live' });
      });

      it('stops a subscription whose handler fails, and says why', async () => {
        const id = stream();
        await store.appendToStream(id, events(1), { expectedRevision: 'no_stream' });
        const before = (await store.readStream(id)).events[0].position;
        await store.appendToStream(id, events(1), { expectedRevision: 0 });
        const stopped = new Promise<unknown>((resolve) => {
          store.subscribeToAll(
            { after: before },
            {
              onEvents: () => {
                throw new Error('handler broke');
              },
              onStopped: resolve,
            },
          );
        });
        await expect(stopped).resolves.toMatchObject({ message: 'handler broke' });
      });
    });

    describe('durability', () => {
      it('given a restart, every acknowledged append is still there', async () => {
        if (!fixture.restart) return;
        const id = stream();
        let revision = -1;
        for (let burst = 0; burst < 20; burst++) {
          const result = await store.appendToStream(id, events(5), { expectedRevision: revision < 0 ? 'no_stream' : revision });
          revision = result.nextExpectedRevision;
        }
        store = await fixture.restart();
        const result = await store.readStream(id);
        expect(result.currentRevision).toBe(99);
      });
    });
  });
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
