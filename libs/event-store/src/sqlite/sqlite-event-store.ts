import type Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
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
import { SqliteCommitBatch } from './sqlite-commit-batch';
import { openLedgerDb, prepareStatements, toRecordedEvent, type Statements } from './sqlite-schema';
import { SharedPages } from './sqlite-shared-pages';
import { AppendSignal, SqliteSubscription, type SubscriptionSource } from './sqlite-subscription';

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
 * power cut. Laid out like the EventStoreDB adapter: the schema and row mapping
 * (sqlite-schema.ts), the commit batch that shares one transaction between the streams appended to
 * in the same turn (sqlite-commit-batch.ts), the pages shared by subscribers (sqlite-shared-pages.ts)
 * and the subscription (sqlite-subscription.ts).
 */
export class SqliteEventStore implements EventStore, SubscriptionSource {
  private readonly db: Database.Database;
  private readonly statements: Statements;
  private readonly commits: SqliteCommitBatch;
  private readonly pages: SharedPages;
  private readonly signal: AppendSignal;
  private readonly subscriptions = new Set<SqliteSubscription>();

  constructor(options: SqliteEventStoreOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = openLedgerDb(options.path);
    this.statements = prepareStatements(this.db);
    this.signal = new AppendSignal(options.pollIntervalMs ?? 500);
    this.pages = new SharedPages((after, maxCount) => this.readAllSync({ after, maxCount }));
    this.commits = new SqliteCommitBatch(this.db, this.statements, options.now ?? (() => new Date()), () => {
      this.pages.dropPagesAtHead();
      this.wakeSubscribers();
    });
  }

  get pollIntervalMs(): number {
    return this.signal.pollIntervalMs;
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

  /** Joins the commit batch of this turn (see SqliteCommitBatch). */
  appendToStream(streamId: string, events: EventToAppend[], options: { expectedRevision: ExpectedRevision }): Promise<AppendResult> {
    return this.commits.append(streamId, events, options.expectedRevision);
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

  readForSubscription(after: number | null, maxCount: number): RecordedEvent[] {
    return this.pages.read(after, maxCount);
  }

  waitForAppend(): Promise<void> {
    return this.signal.wait();
  }

  wakeSubscribers(): void {
    this.signal.wake();
  }
}
