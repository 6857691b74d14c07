import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
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

interface EventRow {
  position: number;
  stream_id: string;
  revision: number;
  event_id: string;
  type: string;
  data: string;
  metadata: string;
  recorded_at: string;
}

/** Decoded events kept for subscribers reading from the same position (see readForSubscription). */
const SHARED_PAGE_EVENTS = 40_000;

interface SharedPage {
  after: number;
  events: RecordedEvent[];
  /** Fewer than asked for: the head was reached, and a later append makes the page short. */
  atHead: boolean;
}

interface PendingAppend {
  streamId: string;
  events: EventToAppend[];
  expected: ExpectedRevision;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

export interface SqliteEventStoreOptions {
  /** A file path, or ':memory:' for tests that need no durability. */
  path: string;
  /** How often a live subscription looks for events written by another process. */
  pollIntervalMs?: number;
  /** Clock for `recordedAt`; tests pass a controlled one. */
  now?: () => Date;
}

/**
 * The embedded ledger: one SQLite file, WAL, synchronous=FULL, so an acknowledged append survives a
 * power cut. Appends are synchronous transactions, which makes the expected-revision check and the
 * insert one atomic step.
 */
export class SqliteEventStore implements EventStore {
  private readonly db: Database.Database;
  private readonly statements;
  private readonly appendTransaction;
  private readonly groupTransaction;
  private pendingAppends: PendingAppend[] = [];
  private sharedPages: SharedPage[] = [];
  private sharedPageEvents = 0;
  private readonly waiters = new Set<() => void>();
  private readonly subscriptions = new Set<SqliteSubscription>();
  private readonly now: () => Date;
  readonly pollIntervalMs: number;

  constructor(options: SqliteEventStoreOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS events (
        position    INTEGER PRIMARY KEY AUTOINCREMENT,
        stream_id   TEXT    NOT NULL,
        revision    INTEGER NOT NULL,
        event_id    TEXT    NOT NULL UNIQUE,
        type        TEXT    NOT NULL,
        data        TEXT    NOT NULL,
        metadata    TEXT    NOT NULL,
        recorded_at TEXT    NOT NULL,
        UNIQUE (stream_id, revision)
      );
    `);
    this.now = options.now ?? (() => new Date());
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.statements = {
      currentRevision: this.db.prepare<[string], { revision: number | null }>(
        'SELECT MAX(revision) AS revision FROM events WHERE stream_id = ?',
      ),
      insert: this.db.prepare(
        `INSERT INTO events (stream_id, revision, event_id, type, data, metadata, recorded_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      byEventId: this.db.prepare<[string], { stream_id: string; revision: number; position: number }>(
        'SELECT stream_id, revision, position FROM events WHERE event_id = ?',
      ),
      readForwards: this.db.prepare<[string, number, number], EventRow>(
        'SELECT * FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision ASC LIMIT ?',
      ),
      readBackwards: this.db.prepare<[string, number, number], EventRow>(
        'SELECT * FROM events WHERE stream_id = ? AND revision <= ? ORDER BY revision DESC LIMIT ?',
      ),
      allForwards: this.db.prepare<[number, number], EventRow>(
        'SELECT * FROM events WHERE position > ? ORDER BY position ASC LIMIT ?',
      ),
      allBackwards: this.db.prepare<[number, number], EventRow>(
        'SELECT * FROM events WHERE position < ? ORDER BY position DESC LIMIT ?',
      ),
      head: this.db.prepare<[], { position: number | null }>('SELECT MAX(position) AS position FROM events'),
    };
    this.appendTransaction = this.db.transaction(
      (streamId: string, events: EventToAppend[], expected: ExpectedRevision): AppendResult => {
        const current = this.statements.currentRevision.get(streamId)?.revision ?? -1;
        const repeat = this.repeatedAppend(streamId, events);
        if (repeat) return repeat;
        assertExpected(streamId, expected, current);
        const recordedAt = this.now().toISOString();
        let revision = current;
        // Each insert says its own position; the head is only the answer to an empty append.
        let position = events.length > 0 ? 0 : (this.statements.head.get()?.position ?? 0);
        for (const event of events) {
          revision += 1;
          const info = this.statements.insert.run(
            streamId,
            revision,
            event.id,
            event.type,
            JSON.stringify(event.data),
            JSON.stringify(event.metadata ?? {}),
            recordedAt,
          );
          position = Number(info.lastInsertRowid);
        }
        return { nextExpectedRevision: revision, position };
      },
    );
    // Called inside a transaction, appendTransaction runs in a savepoint: a throw undoes only its own writes.
    this.groupTransaction = this.db.transaction(
      (batch: PendingAppend[], outcomes: ({ ok: true; result: AppendResult } | { ok: false; error: unknown })[]) => {
        for (const item of batch) {
          try {
            outcomes.push({ ok: true, result: this.appendTransaction(item.streamId, item.events, item.expected) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      },
    );
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<ReadStreamResult> {
    return this.readStreamSync(streamId, options);
  }

  /** Synchronous read, for callers (the auditor's replay) that stream through long histories. */
  readStreamSync(streamId: string, options: ReadStreamOptions = {}): ReadStreamResult {
    const currentRevision = this.statements.currentRevision.get(streamId)?.revision ?? -1;
    if (currentRevision < 0) return { streamExists: false, currentRevision: -1, events: [] };
    const limit = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    const rows =
      options.direction === 'backwards'
        ? this.statements.readBackwards.all(streamId, options.fromRevision ?? currentRevision, limit)
        : this.statements.readForwards.all(streamId, options.fromRevision ?? 0, limit);
    return { streamExists: true, currentRevision, events: rows.map(toRecordedEvent) };
  }

  /**
   * Appends are collected until the end of the current microtask queue and written together: one
   * transaction (and one fsync) for every stream appended to in the same turn, each stream's append
   * in a savepoint of its own, so one refused (wrong revision) or failing append leaves the others
   * alone. Nobody hears back before the shared transaction is durable.
   */
  appendToStream(streamId: string, events: EventToAppend[], options: { expectedRevision: ExpectedRevision }): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.pendingAppends.push({ streamId, events, expected: options.expectedRevision, resolve, reject });
      if (this.pendingAppends.length === 1) queueMicrotask(this.flushAppends);
    });
  }

  private readonly flushAppends = (): void => {
    const batch = this.pendingAppends;
    this.pendingAppends = [];
    if (batch.length === 1) {
      const [only] = batch;
      try {
        only.resolve(this.appendTransaction.immediate(only.streamId, only.events, only.expected));
      } catch (error) {
        only.reject(error);
      }
      if (only.events.length > 0) this.appended();
      return;
    }
    const outcomes: ({ ok: true; result: AppendResult } | { ok: false; error: unknown })[] = [];
    try {
      this.groupTransaction.immediate(batch, outcomes);
    } catch (error) {
      // The shared commit failed: nothing of the group is stored.
      for (const item of batch) item.reject(error);
      return;
    }
    let appended = false;
    batch.forEach((item, index) => {
      const outcome = outcomes[index];
      if (outcome.ok) {
        appended ||= item.events.length > 0;
        item.resolve(outcome.result);
      } else item.reject(outcome.error);
    });
    if (appended) this.appended();
  };

  private appended(): void {
    this.dropPagesAtHead();
    this.wakeSubscribers();
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    return this.readAllSync(options);
  }

  readAllSync(options: ReadAllOptions = {}): RecordedEvent[] {
    const limit = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    const rows =
      options.direction === 'backwards'
        ? this.statements.allBackwards.all(options.after ?? Number.MAX_SAFE_INTEGER, limit)
        : this.statements.allForwards.all(options.after ?? 0, limit);
    return rows.map(toRecordedEvent);
  }

  subscribeToAll(options: SubscribeOptions, handler: AllSubscriptionHandler): Subscription {
    const subscription = new SqliteSubscription(this, options, handler, () => this.subscriptions.delete(subscription));
    this.subscriptions.add(subscription);
    subscription.start();
    return subscription;
  }

  async headPosition(): Promise<number | null> {
    return this.statements.head.get()?.position ?? null;
  }

  async ping(): Promise<boolean> {
    return this.db.open;
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    if (this.db.open) this.db.close();
  }

  /** Resolves on the next append in this process, or after the poll interval for other writers. */
  waitForAppend(): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, this.pollIntervalMs);
      this.waiters.add(wake);
    });
  }

  wakeSubscribers(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /**
   * The read behind subscriptions. Projections (and relays) read the same pages in step, each from
   * its own checkpoint: the last pages read are kept, decoded, and handed to the next subscriber
   * asking from the same position, so a page is fetched and parsed once rather than once per
   * subscriber. Subscribers must treat the events as read-only. Any prefix of the events after a
   * position is a correct answer, since positions are never filled in later; a page that ended at
   * the head is dropped on the next append here so live subscribers do not lag a round behind.
   */
  readForSubscription(after: number | null, maxCount: number): RecordedEvent[] {
    const from = after ?? 0;
    for (const page of this.sharedPages) {
      if (page.after === from && (page.events.length >= maxCount || page.atHead)) {
        return page.events.length > maxCount ? page.events.slice(0, maxCount) : page.events;
      }
    }
    const events = this.readAllSync({ after: from, maxCount });
    if (events.length === 0) return events;
    this.sharedPages.push({ after: from, events, atHead: events.length < maxCount });
    this.sharedPageEvents += events.length;
    while (this.sharedPageEvents > SHARED_PAGE_EVENTS && this.sharedPages.length > 1) {
      this.sharedPageEvents -= (this.sharedPages.shift() as SharedPage).events.length;
    }
    return events;
  }

  private dropPagesAtHead(): void {
    if (!this.sharedPages.some((page) => page.atHead)) return;
    this.sharedPages = this.sharedPages.filter((page) => !page.atHead);
    this.sharedPageEvents = this.sharedPages.reduce((sum, page) => sum + page.events.length, 0);
  }

  /**
   * An append whose event ids are already the stream's events, in order, is a retry of one that
   * succeeded: answer it as before instead of writing twice or failing the retry.
   */
  private repeatedAppend(streamId: string, events: EventToAppend[]): AppendResult | null {
    if (events.length === 0) return null;
    const first = this.statements.byEventId.get(events[0].id);
    if (!first) return null;
    let last = first;
    for (let index = 0; index < events.length; index++) {
      const stored = this.statements.byEventId.get(events[index].id);
      if (!stored || stored.stream_id !== streamId || stored.revision !== first.revision + index) {
        throw new WrongExpectedRevisionError(streamId, 'any', null);
      }
      last = stored;
    }
    return { nextExpectedRevision: last.revision, position: last.position };
  }
}

class SqliteSubscription implements Subscription {
  private stopped = false;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: SqliteEventStore,
    private readonly options: SubscribeOptions,
    private readonly handler: AllSubscriptionHandler,
    private readonly onClose: () => void,
  ) {}

  start(): void {
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.store.wakeSubscribers();
    await this.done;
  }

  private async run(): Promise<void> {
    let after = this.options.after;
    let live = false;
    try {
      // Let the caller finish wiring up before the first batch arrives.
      await Promise.resolve();
      const maxBatchSize = this.options.maxBatchSize ?? 1000;
      while (!this.stopped) {
        const events = this.store.readForSubscription(after, maxBatchSize);
        if (events.length > 0) {
          await this.handler.onEvents(events);
          after = events[events.length - 1].position;
          live = false;
          // A full page means a backlog (a catch-up or a rebuild). A synchronous handler resolves
          // in a microtask, so without this the whole backlog would run before any timer or I/O:
          // the HTTP API and the write side would stall until it is done. Live batches go on at once.
          if (events.length >= maxBatchSize) await new Promise<void>((resolve) => setImmediate(resolve));
          continue;
        }
        if (!live) {
          live = true;
          this.handler.onCaughtUp?.(after);
        }
        await this.store.waitForAppend();
      }
      this.onClose();
      this.handler.onStopped?.();
    } catch (error) {
      this.onClose();
      this.handler.onStopped?.(error);
    }
  }
}

function assertExpected(streamId: string, expected: ExpectedRevision, current: number): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && current === -1) ||
    (expected === 'stream_exists' && current >= 0) ||
    expected === current;
  if (!ok) throw new WrongExpectedRevisionError(streamId, expected, current);
}

function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    type: row.type,
    streamId: row.stream_id,
    revision: row.revision,
    position: row.position,
    data: JSON.parse(row.data),
    metadata: JSON.parse(row.metadata),
    recordedAt: row.recorded_at,
  };
}
