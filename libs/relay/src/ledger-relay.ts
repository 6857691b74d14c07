import { Logger, type LoggerService } from '@nestjs/common';
import type { MessageBus } from '@ledger/bus';
import type { EventStore, RecordedEvent, Subscription } from '@ledger/event-store';
import { ledgerEventMessage } from './messages';
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

export interface LedgerRelayDeps {
  store: EventStore;
  bus: MessageBus;
  /** The full name of `inventory.ledger.v1` (with the environment's prefix). */
  topic: string;
  checkpoints: RelayCheckpointStore;
  metrics?: RelayMetricsSink;
  logger?: LoggerService;
}

export interface LedgerRelayOptions {
  /** Checkpoint name in `relay_checkpoints`; default `ledger`. */
  name?: string;
  /** Events per store batch, each sent as one produce request and then checkpointed. */
  batchSize?: number;
  retry?: RelayRetryOptions;
  /** How long stop() waits for a send in flight before giving up on it (it is then sent again next time). */
  stopTimeoutMs?: number;
}

/**
 * Relays every ledger event to `inventory.ledger.v1` from a checkpointed subscription to the store's
 * global order. Per batch: send all, wait for the bus's acknowledgement, then store the checkpoint.
 * A failed send (or checkpoint write) stops the subscription; it restarts from the stored checkpoint
 * after a growing pause, for as long as it takes: nothing is skipped, a stretch may be sent twice.
 */
export class LedgerRelay {
  readonly name: string;
  private readonly logger: LoggerService;
  private readonly metrics: RelayMetricsSink;
  private readonly batchSize: number;
  private readonly retry: RelayRetryOptions;
  private readonly stopTimeoutMs: number;
  private subscription: Subscription | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private running = false;
  private state: RelayState = 'stopped';
  private checkpoint: number | null = null;
  private failures = 0;
  private lastError: string | null = null;
  private lastPublishedAt: string | null = null;

  constructor(
    private readonly deps: LedgerRelayDeps,
    options: LedgerRelayOptions = {},
  ) {
    this.name = options.name ?? 'ledger';
    this.logger = deps.logger ?? new Logger(`Relay:${this.name}`);
    this.metrics = deps.metrics ?? NO_METRICS;
    this.batchSize = options.batchSize ?? 500;
    this.retry = options.retry ?? DEFAULT_RELAY_RETRY;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
    this.checkpoint = deps.checkpoints.load(this.name);
  }

  /** Starts relaying from the stored checkpoint; does nothing when already running. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.subscribe();
  }

  /** Stops after the batch in flight (bounded by stopTimeoutMs); the checkpoint stays for the next start. */
  async stop(): Promise<void> {
    this.running = false;
    this.state = 'stopped';
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const subscription = this.subscription;
    this.subscription = null;
    if (!subscription) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.stopTimeoutMs)));
    await Promise.race([subscription.stop().catch(() => undefined), timeout]);
    clearTimeout(timer);
  }

  get isRunning(): boolean {
    return this.running;
  }

  async status(): Promise<RelayStatus> {
    const head = await this.deps.store.headPosition().catch(() => null);
    const behind = head === null ? 0 : Math.max(0, head - (this.checkpoint ?? 0));
    let lagMs = 0;
    if (behind > 0) {
      const [oldest] = await this.deps.store.readAll({ after: this.checkpoint, maxCount: 1 }).catch(() => []);
      if (oldest) lagMs = Math.max(0, Date.now() - Date.parse(oldest.recordedAt));
    }
    return {
      name: this.name,
      state: this.state,
      checkpoint: this.checkpoint,
      head,
      lagPositions: behind,
      lagMs,
      failures: this.failures,
      lastError: this.lastError,
      lastPublishedAt: this.lastPublishedAt,
    };
  }

  private subscribe(): void {
    // The stored checkpoint, not the one in memory: after a failure the two agree anyway, and an
    // operator's reset (or a rewound checkpoint) is honoured on the next start.
    this.checkpoint = this.deps.checkpoints.load(this.name);
    this.state = 'catching_up';
    this.subscription = this.deps.store.subscribeToAll(
      { after: this.checkpoint, maxBatchSize: this.batchSize },
      {
        onEvents: (events) => this.relay(events),
        onCaughtUp: () => {
          if (this.running && this.state === 'catching_up') this.state = 'live';
        },
        onStopped: (error) => this.onStopped(error),
      },
    );
  }

  private async relay(events: RecordedEvent[]): Promise<void> {
    if (events.length === 0) return;
    if (!this.running) throw new Error('the relay is stopping');
    this.state = 'catching_up';
    const messages = events.map((event) => ledgerEventMessage(this.deps.topic, event));
    try {
      await this.deps.bus.publish(messages);
    } catch (error) {
      this.metrics.publishFailed(this.name);
      throw error;
    }
    this.metrics.published(this.name, messages.length);
    this.lastPublishedAt = new Date().toISOString();
    const last = events[events.length - 1].position;
    this.deps.checkpoints.save(this.name, last);
    this.checkpoint = last;
    this.failures = 0;
    this.lastError = null;
  }

  private onStopped(error: unknown): void {
    this.subscription = null;
    if (!this.running) return;
    if (error === undefined) {
      // The store ended the subscription without a failure: start again from the checkpoint.
      this.scheduleRestart(0);
      return;
    }
    this.failures += 1;
    this.lastError = errorMessage(error);
    this.state = 'stalled';
    const delay = backoffMs(this.retry, this.failures);
    this.logger.error(`relay ${this.name} stalled at checkpoint ${this.checkpoint} (failure ${this.failures}): ${this.lastError}; retrying in ${delay} ms`);
    this.scheduleRestart(delay);
  }

  private scheduleRestart(delayMs: number): void {
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.running && !this.subscription) this.subscribe();
    }, delayMs);
    this.restartTimer.unref();
  }
}
