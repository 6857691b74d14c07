import { Logger, type LoggerService } from '@nestjs/common';
import type { MessageBus, OutgoingMessage } from '@ledger/bus';
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

/** What every relay needs: where it sends, where it keeps its checkpoint, and whom it tells. */
export interface RelayDeps {
  bus: MessageBus;
  /** The full topic name (with the environment's prefix). */
  topic: string;
  checkpoints: RelayCheckpointStore;
  metrics?: RelayMetricsSink;
  logger?: LoggerService;
}

export interface RelayOptions {
  /** Checkpoint name in `relay_checkpoints`. */
  name?: string;
  /** Messages per send. */
  batchSize?: number;
  retry?: RelayRetryOptions;
  /** How long stop() waits for a send in flight before giving up on it (it is then sent again next time). */
  stopTimeoutMs?: number;
}

/** Where the relay stands against what there is to send. */
export interface RelayLag {
  head: number | null;
  lagPositions: number;
  lagMs: number;
}

/**
 * The part the two Kafka relays share: a checkpoint that advances only after the bus acknowledged
 * a send, a state and status for readiness and metrics, a bounded stop, and the growing pause after
 * a failure. Subclasses say how they read (`begin`/`end`) and how far behind they are (`lag`).
 */
export abstract class CheckpointedRelay<Deps extends RelayDeps = RelayDeps> {
  readonly name: string;
  protected readonly logger: LoggerService;
  protected readonly batchSize: number;
  protected running = false;
  protected state: RelayState = 'stopped';
  protected checkpoint: number | null;
  private readonly metrics: RelayMetricsSink;
  private readonly retry: RelayRetryOptions;
  private readonly stopTimeoutMs: number;
  private failures = 0;
  private lastError: string | null = null;
  private lastPublishedAt: string | null = null;

  protected constructor(
    protected readonly deps: Deps,
    options: RelayOptions,
    defaultName: string,
  ) {
    this.name = options.name ?? defaultName;
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
    this.checkpoint = this.deps.checkpoints.load(this.name);
    this.state = 'catching_up';
    this.begin();
  }

  /** Stops after the send in flight (bounded by stopTimeoutMs); the checkpoint stays for the next start. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.state = 'stopped';
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.stopTimeoutMs)));
    await Promise.race([this.end().catch(() => undefined), timeout]);
    clearTimeout(timer);
  }

  get isRunning(): boolean {
    return this.running;
  }

  async status(): Promise<RelayStatus> {
    const { head, lagPositions, lagMs } = await this.lag();
    return {
      name: this.name,
      state: this.state,
      checkpoint: this.checkpoint,
      head,
      lagPositions,
      lagMs,
      failures: this.failures,
      lastError: this.lastError,
      lastPublishedAt: this.lastPublishedAt,
    };
  }

  protected abstract begin(): void;
  /** Stops reading; resolves once the send in flight (if any) settled. */
  protected abstract end(): Promise<void>;
  protected abstract lag(): Promise<RelayLag>;

  /** Sends and waits for the bus's acknowledgement. */
  protected async send(messages: OutgoingMessage[]): Promise<void> {
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

  /** Everything through `position` was acknowledged: store it, so a restart goes on after it. */
  protected commit(position: number): void {
    this.deps.checkpoints.save(this.name, position);
    this.checkpoint = position;
    this.succeeded();
  }

  /** A round went through: the failures in a row are over. */
  protected succeeded(): void {
    this.failures = 0;
    this.lastError = null;
  }

  /** A send (or checkpoint write) failed: the relay stalls; returns how long to pause before retrying. */
  protected stalled(error: unknown): number {
    this.failures += 1;
    this.lastError = errorMessage(error);
    this.state = 'stalled';
    const pause = backoffMs(this.retry, this.failures);
    this.logger.error(`relay ${this.name} stalled at checkpoint ${this.checkpoint} (failure ${this.failures}): ${this.lastError}; retrying in ${pause} ms`);
    return pause;
  }
}
