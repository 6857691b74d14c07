/**
 * The event-store port. Adapters: the embedded SQLite store (default) and EventStoreDB. Both pass
 * the same contract suite (`testing/event-store.contract.ts`).
 *
 * Revisions count events within a stream from 0. Positions order every event of the store globally;
 * they only ever grow, but need not be consecutive. Both fit in a JS number (2^53), which an
 * append-only log does not outgrow.
 */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

export const ANY: ExpectedRevision = 'any';
export const NO_STREAM: ExpectedRevision = 'no_stream';
export const STREAM_EXISTS: ExpectedRevision = 'stream_exists';

export type JsonObject = Record<string, unknown>;

export interface EventToAppend {
  /** A UUID. Derive it from the command so that a retried append is recognised, not repeated. */
  id: string;
  type: string;
  data: JsonObject;
  metadata?: JsonObject;
}

export interface RecordedEvent<Data extends JsonObject = JsonObject> {
  id: string;
  type: string;
  streamId: string;
  revision: number;
  position: number;
  data: Data;
  metadata: JsonObject;
  /** When the store recorded it, ISO 8601. */
  recordedAt: string;
}

export interface AppendResult {
  /** The revision of the last event now in the stream. */
  nextExpectedRevision: number;
  /** The global position of the last appended event. */
  position: number;
}

export interface ReadStreamOptions {
  /** First revision to return (inclusive); default 0, or the last event going backwards. */
  fromRevision?: number;
  maxCount?: number;
  direction?: 'forwards' | 'backwards';
}

export interface ReadStreamResult {
  streamExists: boolean;
  /** Revision of the stream's last event, -1 when the stream does not exist. */
  currentRevision: number;
  events: RecordedEvent[];
}

export interface ReadAllOptions {
  /** Return events after this position (exclusive); null or absent: from the start (or the end, backwards). */
  after?: number | null;
  maxCount?: number;
  direction?: 'forwards' | 'backwards';
}

export interface AllSubscriptionHandler {
  /** Events in global order; the next batch is not delivered before this settles. */
  onEvents(events: RecordedEvent[]): Promise<void> | void;
  /** Everything stored so far was delivered; the subscription is live from here. May be called again. */
  onCaughtUp?(position: number | null): void;
  /** The subscription ended for good: `error` is the handler's or the store's failure, none on stop(). */
  onStopped?(error?: unknown): void;
}

export interface SubscribeOptions {
  /** Deliver events after this position (exclusive); null for the beginning. */
  after: number | null;
  maxBatchSize?: number;
}

export interface Subscription {
  stop(): Promise<void>;
}

export interface EventStore {
  readStream(streamId: string, options?: ReadStreamOptions): Promise<ReadStreamResult>;
  appendToStream(streamId: string, events: EventToAppend[], options: { expectedRevision: ExpectedRevision }): Promise<AppendResult>;
  /** The ledger's own events in global order (never the store's system events). */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  subscribeToAll(options: SubscribeOptions, handler: AllSubscriptionHandler): Subscription;
  /** Position of the newest event, null when the store is empty. */
  headPosition(): Promise<number | null>;
  /** Whether the store answers now; readiness uses it. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export const EVENT_STORE = Symbol('EVENT_STORE');
