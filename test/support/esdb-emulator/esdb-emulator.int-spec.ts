import {
  ANY,
  END,
  eventTypeFilter,
  EventStoreDBClient,
  jsonEvent,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamDeletedError,
  streamNameFilter,
  WrongExpectedVersionError,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { randomUUID } from 'node:crypto';
import { EsdbEmulator } from './index';

/** The emulator's own rules, checked through the real client (the adapter's spec covers the rest). */
describe.each([{ batchAppend: true }, { batchAppend: false }])('EsdbEmulator (BatchAppend offered: $batchAppend)', (options) => {
  let emulator: EsdbEmulator;
  let client: EventStoreDBClient;
  beforeAll(async () => {
    emulator = await EsdbEmulator.start(options);
    client = EventStoreDBClient.connectionString(emulator.connectionString);
  });
  afterAll(async () => {
    await client.dispose();
    await emulator.stop();
  });

  const event = (type = 'tested', id = randomUUID()) => jsonEvent({ id, type, data: { at: Date.now() } });
  const read = async (stream: string) => {
    const events: ResolvedEvent[] = [];
    for await (const resolved of client.readStream(stream)) events.push(resolved);
    return events;
  };
  const failure = (promise: Promise<unknown>) => promise.then(() => null, (error: unknown) => error);

  it('applies expected revisions and recognises retried event ids', async () => {
    const stream = `s-${randomUUID()}`;
    const batch = [event(), event()];
    expect(await failure(client.appendToStream(stream, event(), { expectedRevision: STREAM_EXISTS }))).toMatchObject({
      actualVersion: 'no_stream',
    });
    const first = await client.appendToStream(stream, batch, { expectedRevision: NO_STREAM });
    expect(first.nextExpectedRevision).toBe(1n);
    expect(await client.appendToStream(stream, batch, { expectedRevision: NO_STREAM })).toEqual(first);
    expect(await client.appendToStream(stream, batch, { expectedRevision: ANY })).toEqual(first);
    const refused = await failure(client.appendToStream(stream, [batch[0], event()], { expectedRevision: ANY }));
    expect(refused).toBeInstanceOf(WrongExpectedVersionError);
    expect(await failure(client.appendToStream(stream, event(), { expectedRevision: 0n }))).toMatchObject({ actualVersion: 1n });
    expect(await failure(client.appendToStream(stream, event(), { expectedRevision: 5n }))).toMatchObject({ actualVersion: 1n });
    expect((await client.appendToStream(stream, event(), { expectedRevision: 1n })).nextExpectedRevision).toBe(2n);
    expect(await read(stream)).toHaveLength(3);
  });

  it('refuses a tombstoned stream to readers and writers', async () => {
    const stream = `s-${randomUUID()}`;
    await client.appendToStream(stream, event());
    await client.tombstoneStream(stream, { expectedRevision: 0n });
    expect(await failure(read(stream))).toBeInstanceOf(StreamDeletedError);
    expect(await failure(client.appendToStream(stream, event()))).toBeInstanceOf(StreamDeletedError);
  });

  it('filters $all on the server by stream prefix or event type regex, and sends checkpoints', async () => {
    const stream = `filtered-${randomUUID()}`;
    await client.appendToStream(stream, [event('order-placed'), event('order-paid')]);
    emulator.appendSystemEvent();
    const all: ResolvedEvent[] = [];
    for await (const resolved of client.readAll({ fromPosition: START })) all.push(resolved);
    expect(all.some((resolved) => resolved.event?.streamId.startsWith('$'))).toBe(true);

    const checkpoints: bigint[] = [];
    const filter = eventTypeFilter({
      regex: '^order-p',
      maxSearchWindow: 2,
      checkpointInterval: 1,
      checkpointReached: (_, position) => void checkpoints.push(position.commit),
    });
    const types = await firstEvents(client.subscribeToAll({ fromPosition: START, filter }), 2);
    expect(types).toEqual(['order-placed', 'order-paid']);
    expect(checkpoints.length).toBeGreaterThan(0);
    const byStream = await firstEvents(client.subscribeToAll({ fromPosition: START, filter: streamNameFilter({ prefixes: [stream] }) }), 2);
    expect(byStream).toEqual(['order-placed', 'order-paid']);
  });

  it('subscribes to a stream after a revision, then live, saying when it caught up', async () => {
    const stream = `s-${randomUUID()}`;
    await client.appendToStream(stream, [event('a'), event('b'), event('c')]);
    const subscription = client.subscribeToStream(stream, { fromRevision: 0n });
    const caughtUp = new Promise((resolve) => subscription.once('caughtUp', resolve));
    const seen = firstEvents(subscription, 3);
    await caughtUp;
    await client.appendToStream(stream, event('d'));
    expect(await seen).toEqual(['b', 'c', 'd']);
    const fromEnd = client.subscribeToStream(stream, { fromRevision: END });
    const next = firstEvents(fromEnd, 1);
    await new Promise((resolve) => fromEnd.once('caughtUp', resolve));
    await client.appendToStream(stream, event('e'));
    expect(await next).toEqual(['e']);
  });
});

/** The types of the first `count` events, then unsubscribes. */
async function firstEvents(subscription: AsyncIterable<ResolvedEvent> & { unsubscribe(): Promise<void> }, count: number): Promise<string[]> {
  const types: string[] = [];
  for await (const resolved of subscription) {
    if (resolved.event) types.push(resolved.event.type);
    if (types.length === count) break;
  }
  await subscription.unsubscribe();
  return types;
}
