import { Logger, type LoggerService } from '@nestjs/common';
import type { Observable, Subscription as RxSubscription } from 'rxjs';
import { setTimeout as delay } from 'node:timers/promises';
import type { MessageBus, OutgoingMessage } from '@ledger/bus';
import type { AvailabilityChange, ChannelAvailability } from '@ledger/projections';
import { availabilityMessage } from './messages';
import type { RelayCheckpointStore } from './relay-checkpoints';
import {
  backoffMs,
  DEFAULT_RELAY_RETRY,
  errorMessage,
  NO_METRICS,
  type RelayMetricsSink,
  type RelayRetryOptions,
  type RelayState,
  type RelayStatus,
} from './relay-status';

/** What the relay reads: the live generation of the availability projection (ChannelAvailabilityQueries). */
export interface AvailabilityChangeLog {
  /** Changes after a position in ledger order, all changes of one position together; null when pruned. */
  changesAfter(position: number): Iterable<AvailabilityChange> | null;
  lastChangePosition(): number | null;
  /** Every (channel, SKU) count: the snapshot sent when the change log no longer reaches back far enough. */
  all(): ChannelAvailability[];
}

export interface AvailabilityRelayDeps {
  /** Called for every read, so a rebuilt projection's new generation is picked up when it goes live. */
  changeLog: () => AvailabilityChangeLog;
  bus: MessageBus;
  /** The full name of `inventory.availability.v1` (with the environment's prefix). */
  topic: string;
  checkpoints: RelayCheckpointStore;
  /** Emits when the projection committed changes (AvailabilityChangedEvent): the relay wakes at once. */
  wakeups?: Observable<unknown>;
  metrics?: RelayMetricsSink;
  logger?: LoggerService;
}

export interface AvailabilityRelayOptions {
  /** Checkpoint name in `relay_checkpoints`; default `availability`. */
  name?: string;
  /** Messages per send; a position's changes are never split, so a send may hold a few more. */
  batchSize?: number;
  /** The relay also looks for changes this often, in case a wakeup was missed. */
  pollIntervalMs?: number;
  retry?: RelayRetryOptions;
  stopTimeoutMs?: number;
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
export class AvailabilityRelay {
  readonly name: string;
  private readonly logger: LoggerService;
  private readonly metrics: RelayMetricsSink;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly retry: RelayRetryOptions;
  private readonly stopTimeoutMs: number;
  private running = false;
  private loop: Promise<void> | null = null;
  private stopping: AbortController | null = null;
  private wakeup: AbortController | null = null;
  private dirty = false;
  private wakeSubscription: RxSubscription | null = null;
  private state: RelayState = 'stopped';
  private checkpoint: number | null;
  private failures = 0;
  private lastError: string | null = null;
  private lastPublishedAt: string | null = null;

  constructor(
    private readonly deps: AvailabilityRelayDeps,
    options: AvailabilityRelayOptions = {},
  ) {
    this.name = options.name ?? 'availability';
    this.logger = deps.logger ?? new Logger(`Relay:${this.name}`);
    this.metrics = deps.metrics ?? NO_METRICS;
    this.batchSize = options.batchSize ?? 500;
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.retry = options.retry ?? DEFAULT_RELAY_RETRY;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
    this.checkpoint = deps.checkpoints.load(this.name);
  }

  /** The position after which the change log must be kept for this relay (the prune floor). */
  pruneFloor(): number {
    return this.checkpoint ?? BEGINNING;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = new AbortController();
    this.checkpoint = this.deps.checkpoints.load(this.name);
    this.state = 'catching_up';
    this.wakeSubscription = this.deps.wakeups?.subscribe(() => this.wake()) ?? null;
    this.loop = this.run(this.stopping.signal);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.state = 'stopped';
    this.wakeSubscription?.unsubscribe();
    this.wakeSubscription = null;
    this.stopping?.abort();
    const loop = this.loop;
    this.loop = null;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.stopTimeoutMs)));
    await Promise.race([loop, timeout]);
    clearTimeout(timer);
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Looks for changes now rather than at the next poll. */
  wake(): void {
    this.dirty = true;
    this.wakeup?.abort();
  }

  async status(): Promise<RelayStatus> {
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
    return {
      name: this.name,
      state: this.state,
      checkpoint: this.checkpoint,
      head,
      lagPositions: head === null ? 0 : Math.max(0, head - Math.max(0, this.checkpoint ?? 0)),
      lagMs,
      failures: this.failures,
      lastError: this.lastError,
      lastPublishedAt: this.lastPublishedAt,
    };
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        this.dirty = false;
        const sent = await this.relayOnce();
        this.failures = 0;
        this.lastError = null;
        if (sent) continue;
        if (this.state === 'catching_up') this.state = 'live';
        await this.idle(signal);
      } catch (error) {
        if (signal.aborted) break;
        this.failures += 1;
        this.lastError = errorMessage(error);
        this.state = 'stalled';
        // Back to what is stored: whatever was sent after it goes again (duplicates, never gaps).
        this.checkpoint = this.loadCheckpoint();
        const pause = backoffMs(this.retry, this.failures);
        this.logger.error(`relay ${this.name} stalled at checkpoint ${this.checkpoint} (failure ${this.failures}): ${this.lastError}; retrying in ${pause} ms`);
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

  private async send(messages: OutgoingMessage[]): Promise<void> {
    if (!this.running) throw new Error('the relay is stopping');
    try {
      await this.deps.bus.publish(messages);
    } catch (error) {
      this.metrics.publishFailed(this.name);
      throw error;
    }
    this.metrics.published(this.name, messages.length);
    this.lastPublishedAt = new Date().toISOString();
  }

  private commit(position: number): void {
    this.deps.checkpoints.save(this.name, position);
    this.checkpoint = position;
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
