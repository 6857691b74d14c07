import { Logger } from '@nestjs/common';
import type Database from 'better-sqlite3';
import type { EventStore, RecordedEvent, Subscription } from '@ledger/event-store';
import { tableNamesFor, type Projection, type ProjectionWriter } from './projection';

export type RunnerState = 'starting' | 'catching_up' | 'running' | 'failed' | 'stopped';

export interface RunnerStatus {
  name: string;
  generation: number;
  state: RunnerState;
  checkpoint: number | null;
  /** When the last applied event was recorded, and how far behind the head that leaves us. */
  lastEventAt: string | null;
  lastError: string | null;
}

export interface RunnerHooks {
  onApplied?(projection: string, count: number): void;
  onFailed?(projection: string, error: unknown): void;
}

const RESTART_DELAYS_MS = [100, 500, 2_000, 5_000, 10_000];
/**
 * Events applied in one transaction at most while catching up. Bigger batches write each touched
 * row fewer times, but hold the event loop longer (about half a second at this size on 2 slow cores).
 */
const CATCH_UP_TRANSACTION_EVENTS = 20_000;

/**
 * Feeds one projection generation from the ledger's global order. Each batch is applied and its
 * checkpoint stored in one SQLite transaction, so a restart neither skips nor repeats an event; events
 * at or below a stream's applied revision are skipped as a second guard. A failing batch stops the
 * runner, is logged and counted, and the runner starts again from its checkpoint after a backoff.
 */
export class ProjectionRunner {
  private readonly logger: Logger;
  private subscription: Subscription | null = null;
  private writer: ProjectionWriter | null = null;
  private readonly revisions = new Map<string, number>();
  private checkpoint: number | null = null;
  private state: RunnerState = 'stopped';
  private lastEventAt: string | null = null;
  private lastError: string | null = null;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private waiters: { position: number; resolve(): void }[] = [];
  private caughtUpWaiters: (() => void)[] = [];
  /** Full pages read while catching up and not applied yet (see onEvents). */
  private held: RecordedEvent[][] = [];
  private heldCount = 0;
  private readonly statements;
  /** A batch, its stream revisions and its checkpoint: one transaction. */
  private readonly applyTransaction: (writer: ProjectionWriter, fresh: RecordedEvent[], lastRevisions: Map<string, number>, position: number) => void;

  constructor(
    readonly projection: Projection,
    readonly generation: number,
    private readonly db: Database.Database,
    private readonly store: EventStore,
    private readonly hooks: RunnerHooks = {},
    private readonly batchSize = 5_000,
  ) {
    this.logger = new Logger(`Projection:${projection.name}`);
    db.exec(projection.schema(tableNamesFor(projection.name, generation)));
    this.statements = {
      readCheckpoint: db.prepare<[string, number], { position: number | null }>(
        'SELECT position FROM projection_checkpoints WHERE name = ? AND generation = ?',
      ),
      writeCheckpoint: db.prepare(
        `INSERT INTO projection_checkpoints (name, generation, position, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (name, generation) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
      ),
      readRevision: db.prepare<[string, number, string], { revision: number }>(
        'SELECT revision FROM projection_stream_revisions WHERE name = ? AND generation = ? AND stream_id = ?',
      ),
      writeRevision: db.prepare(
        `INSERT INTO projection_stream_revisions (name, generation, stream_id, revision) VALUES (?, ?, ?, ?)
         ON CONFLICT (name, generation, stream_id) DO UPDATE SET revision = excluded.revision`,
      ),
    };
    this.checkpoint = this.statements.readCheckpoint.get(projection.name, generation)?.position ?? null;
    this.applyTransaction = db.transaction((writer: ProjectionWriter, fresh: RecordedEvent[], lastRevisions: Map<string, number>, position: number) => {
      writer.apply(fresh);
      for (const [streamId, revision] of lastRevisions) {
        this.statements.writeRevision.run(this.projection.name, this.generation, streamId, revision);
      }
      this.statements.writeCheckpoint.run(this.projection.name, this.generation, position, new Date().toISOString());
    });
  }

  start(): void {
    if (this.subscription) return;
    this.state = 'catching_up';
    // Pages held from before a stop or failure are read again from the checkpoint.
    this.held = [];
    this.heldCount = 0;
    this.revisions.clear();
    this.writer = this.projection.open(this.db, tableNamesFor(this.projection.name, this.generation));
    this.subscription = this.store.subscribeToAll(
      { after: this.checkpoint, maxBatchSize: this.batchSize },
      {
        onEvents: (events) => this.onEvents(events),
        onCaughtUp: () => this.markCaughtUp(),
        onStopped: (error) => this.onStopped(error),
      },
    );
  }

  async stop(): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const subscription = this.subscription;
    this.subscription = null;
    this.state = 'stopped';
    await subscription?.stop();
  }

  status(): RunnerStatus {
    const { name } = this.projection;
    return { name, generation: this.generation, state: this.state, checkpoint: this.checkpoint, lastEventAt: this.lastEventAt, lastError: this.lastError };
  }

  get position(): number | null {
    return this.checkpoint;
  }

  get caughtUp(): boolean {
    return this.state === 'running';
  }

  /** Resolves once the projection has applied `position`, or false after the timeout. */
  waitForPosition(position: number, timeoutMs: number): Promise<boolean> {
    if (this.checkpoint !== null && this.checkpoint >= position) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((other) => other !== waiter);
        resolve(false);
      }, timeoutMs).unref();
      const waiter = {
        position,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Resolves the next time the runner has applied everything stored. */
  whenCaughtUp(): Promise<void> {
    if (this.state === 'running') return Promise.resolve();
    return new Promise((resolve) => this.caughtUpWaiters.push(resolve));
  }

  /**
   * While catching up (a start from far behind, or a rebuild), full pages mean more is waiting right
   * behind them: up to CATCH_UP_TRANSACTION_EVENTS of them are applied as one batch, so a row that
   * many events touch is written once rather than once per page. A page that is not full, or the
   * store saying we are caught up, applies what is held at once; live batches are applied as they come.
   */
  private onEvents(events: RecordedEvent[]): void {
    if (this.state === 'catching_up' && events.length >= this.batchSize && this.heldCount + events.length < CATCH_UP_TRANSACTION_EVENTS) {
      this.held.push(events);
      this.heldCount += events.length;
      return;
    }
    this.held.push(events);
    this.applyHeld();
  }

  private applyHeld(): void {
    if (this.held.length === 0) return;
    const batch = this.held.length === 1 ? this.held[0] : this.held.flat();
    this.held = [];
    this.heldCount = 0;
    this.applyBatch(batch);
  }

  private applyBatch(events: RecordedEvent[]): void {
    const writer = this.writer as ProjectionWriter;
    const fresh = events.filter((event) => event.revision > this.appliedRevision(event.streamId));
    const last = events[events.length - 1];
    const lastRevisions = new Map<string, number>();
    for (const event of fresh) lastRevisions.set(event.streamId, event.revision);
    try {
      this.applyTransaction(writer, fresh, lastRevisions, last.position);
    } catch (error) {
      writer.discard?.();
      throw error;
    }
    for (const [streamId, revision] of lastRevisions) this.revisions.set(streamId, revision);
    this.checkpoint = last.position;
    this.lastEventAt = last.recordedAt;
    this.failures = 0;
    this.lastError = null;
    writer.afterCommit?.();
    this.hooks.onApplied?.(this.projection.name, fresh.length);
    this.releaseWaiters();
  }

  private appliedRevision(streamId: string): number {
    let revision = this.revisions.get(streamId);
    if (revision === undefined) {
      revision = this.statements.readRevision.get(this.projection.name, this.generation, streamId)?.revision ?? -1;
      this.revisions.set(streamId, revision);
    }
    return revision;
  }

  private markCaughtUp(): void {
    this.applyHeld();
    this.state = 'running';
    for (const resolve of this.caughtUpWaiters.splice(0)) resolve();
  }

  private releaseWaiters(): void {
    const position = this.checkpoint ?? -1;
    const ready = this.waiters.filter((waiter) => waiter.position <= position);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => waiter.position > position);
    for (const waiter of ready) waiter.resolve();
  }

  private onStopped(error: unknown): void {
    this.subscription = null;
    if (error === undefined || this.state === 'stopped') return;
    this.state = 'failed';
    this.lastError = (error as Error)?.message ?? String(error);
    this.hooks.onFailed?.(this.projection.name, error);
    const delay = RESTART_DELAYS_MS[Math.min(this.failures, RESTART_DELAYS_MS.length - 1)];
    this.failures += 1;
    this.logger.error(`stopped at checkpoint ${this.checkpoint}: ${this.lastError}; restarting in ${delay} ms`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.state === 'failed') this.start();
    }, delay);
    this.restartTimer.unref();
  }
}
