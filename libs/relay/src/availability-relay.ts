import type { Observable, Subscription as RxSubscription } from 'rxjs';
import { setTimeout as delay } from 'node:timers/promises';
import type { AvailabilityChange, ChannelAvailability } from '@ledger/projections';
import { CheckpointedRelay, type RelayDeps, type RelayLag, type RelayOptions } from './checkpointed-relay';
import { availabilityMessage } from './messages';

/** What the relay reads: the live generation of the availability projection (ChannelAvailabilityQueries). */
export interface AvailabilityChangeLog {
  /** Changes after a position in ledger order, all changes of one position together; null when pruned. */
  changesAfter(position: number): Iterable<AvailabilityChange> | null;
  lastChangePosition(): number | null;
  /** Every (channel, SKU) count: the snapshot sent when the change log no longer reaches back far enough. */
  all(): ChannelAvailability[];
}

export interface AvailabilityRelayDeps extends RelayDeps {
  /** Called for every read, so a rebuilt projection's new generation is picked up when it goes live. */
  changeLog: () => AvailabilityChangeLog;
  /** Emits when the projection committed changes (AvailabilityChangedEvent): the relay wakes at once. */
  wakeups?: Observable<unknown>;
}

/** `name` defaults to `availability`; a position's changes are never split, so a send may hold a few more than `batchSize`. */
export interface AvailabilityRelayOptions extends RelayOptions {
  /** The relay also looks for changes this often, in case a wakeup was missed. */
  pollIntervalMs?: number;
}

/** Before the first position: a relay without a checkpoint starts from the oldest change kept. */
const BEGINNING = -1;

/**
 * Relays the availability change log to `inventory.availability.v1` (compacted, keyed by
 * `<channel>:<sku>`). The log holds a row only when a channel's count changed, and every change of one
 * ledger position is committed together, so the relay sends whole positions and checkpoints by
 * position. Woken by AvailabilityChangedEvent, and by a poll. A failed send (or checkpoint write)
 * stalls the relay, which goes back to its stored checkpoint after a growing pause: nothing is
 * skipped, a stretch may be sent twice (consumers keep the highest (revision, position) per key).
 *
 * The projection manager does not prune changes after this relay's checkpoint. Should the log still
 * not reach back far enough (a relay started on an old database), it sends a snapshot of every count
 * and goes on from the log's last position.
 */
export class AvailabilityRelay extends CheckpointedRelay<AvailabilityRelayDeps> {
  private readonly pollIntervalMs: number;
  private loop: Promise<void> | null = null;
  private stopping: AbortController | null = null;
  private wakeup: AbortController | null = null;
  private dirty = false;
  private wakeSubscription: RxSubscription | null = null;

  constructor(deps: AvailabilityRelayDeps, options: AvailabilityRelayOptions = {}) {
    super(deps, options, 'availability');
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
  }

  /** The position after which the change log must be kept for this relay (the prune floor). */
  pruneFloor(): number {
    return this.checkpoint ?? BEGINNING;
  }

  /** Looks for changes now rather than at the next poll. */
  wake(): void {
    this.dirty = true;
    this.wakeup?.abort();
  }

  protected begin(): void {
    this.stopping = new AbortController();
    this.wakeSubscription = this.deps.wakeups?.subscribe(() => this.wake()) ?? null;
    this.loop = this.run(this.stopping.signal);
  }

  protected async end(): Promise<void> {
    this.wakeSubscription?.unsubscribe();
    this.wakeSubscription = null;
    this.stopping?.abort();
    const loop = this.loop;
    this.loop = null;
    await loop;
  }

  protected async lag(): Promise<RelayLag> {
    let head: number | null = null;
    let lagMs = 0;
    try {
      const log = this.deps.changeLog();
      head = log.lastChangePosition();
      if (head !== null && head > (this.checkpoint ?? BEGINNING)) {
        const changes = log.changesAfter(this.checkpoint ?? BEGINNING);
        const oldest = changes ? first(changes) : undefined;
        if (oldest) lagMs = Math.max(0, Date.now() - Date.parse(oldest.updatedAt));
      }
    } catch {
      // The database is closing: report what is known.
    }
    return { head, lagPositions: head === null ? 0 : Math.max(0, head - Math.max(0, this.checkpoint ?? 0)), lagMs };
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        this.dirty = false;
        const sent = await this.relayOnce();
        this.succeeded();
        if (sent) continue;
        if (this.state === 'catching_up') this.state = 'live';
        await this.idle(signal);
      } catch (error) {
        if (signal.aborted) break;
        // Back to what is stored: whatever was sent after it goes again (duplicates, never gaps).
        this.checkpoint = this.loadCheckpoint();
        const pause = this.stalled(error);
        await delay(pause, undefined, { signal }).catch(() => undefined);
        if (!signal.aborted) this.state = 'catching_up';
      }
    }
  }

  /** Sends the next batch of whole positions; false when there was nothing to send. */
  private async relayOnce(): Promise<boolean> {
    const after = this.checkpoint ?? BEGINNING;
    const log = this.deps.changeLog();
    const changes = log.changesAfter(after);
    if (changes === null) {
      await this.sendSnapshot(log);
      return true;
    }
    // Read synchronously to the end of the batch (the statement holds the connection until closed).
    const batch: AvailabilityChange[] = [];
    let through = after;
    for (const change of changes) {
      if (batch.length >= this.batchSize && change.position !== through) break;
      batch.push(change);
      through = change.position;
    }
    if (batch.length === 0) return false;
    this.state = 'catching_up';
    const emittedAt = new Date().toISOString();
    await this.send(batch.map((change) => availabilityMessage(this.deps.topic, change, emittedAt)));
    this.commit(through);
    return true;
  }

  /**
   * The log was pruned past the checkpoint: send every current count, then go on from the log's last
   * position. Counts and that position are read in one synchronous step, so they agree.
   */
  private async sendSnapshot(log: AvailabilityChangeLog): Promise<void> {
    const through = log.lastChangePosition() ?? BEGINNING;
    const rows = log.all();
    this.logger.warn(`relay ${this.name}: changes after ${this.checkpoint} were pruned; sending a snapshot of ${rows.length} counts through position ${through}`);
    this.state = 'catching_up';
    const emittedAt = new Date().toISOString();
    for (let start = 0; start < rows.length; start += this.batchSize) {
      await this.send(rows.slice(start, start + this.batchSize).map((row) => availabilityMessage(this.deps.topic, row, emittedAt)));
    }
    this.commit(through);
  }

  private loadCheckpoint(): number | null {
    try {
      return this.deps.checkpoints.load(this.name);
    } catch {
      return this.checkpoint;
    }
  }

  /** Waits for a wakeup, the poll interval, or stop. */
  private async idle(signal: AbortSignal): Promise<void> {
    if (this.dirty) return;
    const wakeup = new AbortController();
    this.wakeup = wakeup;
    const onStop = () => wakeup.abort();
    signal.addEventListener('abort', onStop, { once: true });
    try {
      await delay(this.pollIntervalMs, undefined, { signal: wakeup.signal }).catch(() => undefined);
    } finally {
      signal.removeEventListener('abort', onStop);
      this.wakeup = null;
    }
  }
}

function first<T>(items: Iterable<T>): T | undefined {
  for (const item of items) return item;
  return undefined;
}
