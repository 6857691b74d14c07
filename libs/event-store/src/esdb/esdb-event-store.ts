import { BACKWARDS, END, EventStoreDBClient, FORWARDS, START, StreamNotFoundError, type ResolvedEvent } from '@eventstore/db-client';
import { WrongExpectedRevisionError } from '../errors';
import type {
  AllSubscriptionHandler,
  AppendResult,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  ReadAllOptions,
  ReadStreamOptions,
  ReadStreamResult,
  RecordedEvent,
  SubscribeOptions,
  Subscription,
} from '../event-store.port';
import { clientInternals, readAllFiltered } from './esdb-filtered-read';
import { fromClientEvent, fromWireEvent, toEsdbExpected, toEventData, toPortError, toUnavailable, withTimeout } from './esdb-mapping';
import { EsdbAllSubscription } from './esdb-subscription';

export interface EsdbEventStoreOptions {
  /** e.g. `esdb://localhost:2113?tls=false`, or a cluster: `esdb://node1:2113,node2:2113,node3:2113?nodePreference=leader`. */
  connectionString: string;
  /** Streams that hold the ledger's events; readAll and subscribeToAll see only these (never `$` system streams). */
  streamPrefixes?: string[];
  /** Bound on every call, so a dead or hung server fails fast (EventStoreUnavailableError) instead of hanging. */
  timeoutMs?: number;
  /** Bound on ping(), which readiness calls often. */
  pingTimeoutMs?: number;
  /** Resubscription after a dropped connection: exponential from the first delay up to the cap. */
  reconnectDelayMs?: { initial: number; max: number };
  /** Largest micro-batch a subscription hands to its handler. */
  maxBatchSize?: number;
}

/**
 * The port on EventStoreDB (gRPC client 6.x, one client per instance). Revisions and positions become JS
 * numbers: an event's position is its $all commit position, and a position handed back is read as
 * { commit: p, prepare: p }, which is exact because every event is its own log record.
 */
export class EsdbEventStore implements EventStore {
  private readonly client: EventStoreDBClient;
  private readonly prefixes: string[];
  private readonly timeoutMs: number;
  private readonly pingTimeoutMs: number;
  private readonly subscriptions = new Set<EsdbAllSubscription>();

  constructor(private readonly options: EsdbEventStoreOptions) {
    this.client = EventStoreDBClient.connectionString(options.connectionString);
    clientInternals(this.client); // fail now, not on the first read, if the client no longer fits
    this.prefixes = options.streamPrefixes ?? ['inventory-'];
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.pingTimeoutMs = options.pingTimeoutMs ?? 1_000;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<ReadStreamResult> {
    const backwards = options.direction === 'backwards';
    const maxCount = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    const from = options.fromRevision === undefined ? (backwards ? END : START) : BigInt(options.fromRevision);
    const events = await this.readStreamEvents(streamId, { fromRevision: from, maxCount, direction: backwards ? BACKWARDS : FORWARDS });
    if (events === null) return { streamExists: false, currentRevision: -1, events: [] };
    // The last revision is at hand when the read reached the end; otherwise one more event tells it.
    let currentRevision: number;
    if (backwards && from === END && events.length > 0) currentRevision = events[0].revision;
    else if (!backwards && events.length > 0 && events.length < maxCount) currentRevision = events[events.length - 1].revision;
    else {
      const last = await this.readStreamEvents(streamId, { fromRevision: END, maxCount: 1, direction: BACKWARDS });
      if (last === null || last.length === 0) return { streamExists: false, currentRevision: -1, events: [] };
      currentRevision = last[0].revision;
    }
    return { streamExists: true, currentRevision, events };
  }

  async appendToStream(streamId: string, events: EventToAppend[], options: { expectedRevision: ExpectedRevision }): Promise<AppendResult> {
    const expected = options.expectedRevision;
    try {
      const append = this.client.appendToStream(streamId, events.map(toEventData), {
        expectedRevision: toEsdbExpected(expected),
        deadline: this.timeoutMs,
      });
      const result = await withTimeout(append, this.timeoutMs, `append to ${streamId}`);
      const nextExpectedRevision = Number(result.nextExpectedRevision);
      // Only with throwOnAppendFailure=false in the connection string; the default throws instead.
      if (!result.success) throw new WrongExpectedRevisionError(streamId, expected, nextExpectedRevision);
      if (result.position) return { nextExpectedRevision, position: Number(result.position.commit) };
      // Older servers answer a retried (idempotent) append without a position: it is that of its last event.
      return { nextExpectedRevision, position: await this.positionOf(streamId, nextExpectedRevision) };
    } catch (error) {
      throw toPortError(error, streamId, expected);
    }
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const after = options.after ?? null;
    const direction = options.direction ?? 'forwards';
    const maxCount = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    // The server reads from a position inclusively (forwards), the port reads after it: ask for one more.
    const events = await this.readAllFiltered({ from: after, direction, maxCount: Math.min(maxCount + 1, Number.MAX_SAFE_INTEGER) });
    const beyond = (event: RecordedEvent) =>
      after === null || (direction === 'forwards' ? event.position > after : event.position < after);
    return events.filter(beyond).slice(0, maxCount);
  }

  subscribeToAll(options: SubscribeOptions, handler: AllSubscriptionHandler): Subscription {
    const subscription = new EsdbAllSubscription(
      {
        client: this.client,
        streamPrefixes: this.prefixes,
        headPosition: () => this.headPosition(),
        reconnectDelayMs: this.options.reconnectDelayMs ?? { initial: 100, max: 5_000 },
        maxBatchSize: options.maxBatchSize ?? this.options.maxBatchSize ?? 500,
        onClosed: () => this.subscriptions.delete(subscription),
      },
      options.after,
      handler,
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  async headPosition(): Promise<number | null> {
    const [last] = await this.readAllFiltered({ from: null, direction: 'backwards', maxCount: 1 });
    return last?.position ?? null;
  }

  async ping(): Promise<boolean> {
    try {
      await this.readAllFiltered({ from: null, direction: 'backwards', maxCount: 1 }, this.pingTimeoutMs);
      return true;
    } catch {
      return false;
    }
  }

  /** Stops every subscription, then the client's calls and its channel (dispose() leaves the channel open). */
  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    await this.client.dispose();
    await clientInternals(this.client)
      .getChannel()
      .then((channel) => channel.close(), () => undefined);
  }

  private async readAllFiltered(
    request: { from: number | null; direction: 'forwards' | 'backwards'; maxCount: number },
    timeoutMs = this.timeoutMs,
  ): Promise<RecordedEvent[]> {
    try {
      const read = readAllFiltered(this.client, { ...request, streamPrefixes: this.prefixes, deadlineMs: timeoutMs });
      return (await withTimeout(read, timeoutMs + 500, 'read $all')).map(fromWireEvent);
    } catch (error) {
      throw toUnavailable(error, 'read $all');
    }
  }

  /** The stream's events, or null when it does not exist. */
  private async readStreamEvents(
    streamId: string,
    options: { fromRevision: bigint | typeof START | typeof END; maxCount: number; direction: typeof FORWARDS | typeof BACKWARDS },
  ): Promise<RecordedEvent[] | null> {
    const read = this.client.readStream(streamId, options);
    const collect = async () => {
      const events: RecordedEvent[] = [];
      for await (const resolved of read as AsyncIterable<ResolvedEvent>) {
        if (resolved.event) events.push(fromClientEvent(resolved.event));
      }
      return events;
    };
    try {
      return await withTimeout(collect(), this.timeoutMs, `read ${streamId}`, () => void read.cancel());
    } catch (error) {
      if (error instanceof StreamNotFoundError) return null;
      throw toUnavailable(error, `read ${streamId}`);
    }
  }

  private async positionOf(streamId: string, revision: number): Promise<number> {
    if (revision < 0) return -1;
    const events = await this.readStreamEvents(streamId, { fromRevision: BigInt(revision), maxCount: 1, direction: FORWARDS });
    return events?.[0]?.position ?? -1;
  }
}
