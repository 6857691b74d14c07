import { Logger, type LoggerService } from '@nestjs/common';
import { EventEmitter, once } from 'node:events';
import type { IncomingMessage, MessageBus, OutgoingMessage, SubscribeOptions, Subscription } from './bus.port';
import { abortableDelay, DEFAULT_HANDLER_RETRY, handleUntilSuccess, type HandlerRetryOptions } from './handler-retry';

export interface InProcessBusOptions {
  /** Partitions per topic; keys spread over them as on Kafka. Default 3. */
  partitionsPerTopic?: number;
  /** Messages kept per partition, like Kafka's retention; older ones are dropped. Default 10,000. */
  retainPerPartition?: number;
  handlerRetry?: HandlerRetryOptions;
  logger?: LoggerService;
}

interface StoredMessage {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

/** One partition's retained messages; `base` is the offset of the oldest one still kept. */
interface PartitionLog {
  base: number;
  messages: StoredMessage[];
}

interface PartitionRef {
  topic: string;
  partition: number;
  /** `topic/partition`, the key of offsets. */
  id: string;
}

/**
 * The bus when no Kafka is configured. Topics live in memory with Kafka's semantics (append-only
 * partitions chosen by key, consumer groups with committed offsets, a bounded retention) so the app
 * and its tests behave the same either way. A group has one subscriber at a time: within one process
 * there is no one to share its partitions with.
 */
export class InProcessBus implements MessageBus {
  private readonly partitionsPerTopic: number;
  private readonly retainPerPartition: number;
  private readonly handlerRetry: HandlerRetryOptions;
  private readonly logger: LoggerService;
  private readonly topics = new Map<string, PartitionLog[]>();
  /** Next offset to deliver, by group, then by partition id. */
  private readonly committedOffsets = new Map<string, Map<string, number>>();
  private readonly subscriptions = new Map<string, InProcessSubscription>();
  private readonly appended = new EventEmitter();
  private connected = false;

  constructor(options: InProcessBusOptions = {}) {
    this.partitionsPerTopic = options.partitionsPerTopic ?? 3;
    this.retainPerPartition = options.retainPerPartition ?? 10_000;
    this.handlerRetry = options.handlerRetry ?? DEFAULT_HANDLER_RETRY;
    this.logger = options.logger ?? new Logger(InProcessBus.name);
    // Every idle subscription waits for the next append.
    this.appended.setMaxListeners(0);
  }

  async connect(): Promise<void> {
    this.connected = true;
  }

  async publish(messages: OutgoingMessage[]): Promise<void> {
    this.assertConnected();
    for (const { topic, key, value, headers } of messages) {
      const partitions = this.partitionsOf(topic);
      const log = partitions[partitionForKey(key, partitions.length)];
      // Buffer.from copies, so a caller reusing its buffer cannot rewrite the log.
      log.messages.push({ key, value: Buffer.from(value), headers: { ...headers } });
      // Trim in steps rather than per message, so retention costs little per publish.
      if (log.messages.length > this.retainPerPartition * 1.25) {
        const dropped = log.messages.length - this.retainPerPartition;
        log.messages.splice(0, dropped);
        log.base += dropped;
      }
    }
    this.appended.emit('append');
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.assertConnected();
    if (this.subscriptions.has(options.groupId)) {
      throw new Error(`Group "${options.groupId}" already has a subscriber; the in-process bus allows one per group`);
    }
    const partitions = options.topics.flatMap((topic) =>
      this.partitionsOf(topic).map((_, partition) => ({ topic, partition, id: `${topic}/${partition}` })),
    );
    const committed = this.committedOffsets.get(options.groupId) ?? new Map<string, number>();
    this.committedOffsets.set(options.groupId, committed);
    // As on Kafka, a group without a committed offset starts at the oldest message or the current end.
    const startOffsets = new Map(
      partitions.map((ref) => {
        const log = this.log(ref);
        return [ref.id, options.fromBeginning ? log.base : log.base + log.messages.length];
      }),
    );
    const subscription = new InProcessSubscription(partitions, committed, startOffsets, options, {
      log: (ref) => this.log(ref),
      waitForAppend: (signal) => once(this.appended, 'append', { signal }).then(
        () => undefined,
        () => undefined,
      ),
      retry: this.handlerRetry,
      logger: this.logger,
      onStopped: () => this.subscriptions.delete(options.groupId),
    });
    this.subscriptions.set(options.groupId, subscription);
    return subscription;
  }

  isHealthy(): boolean {
    return this.connected;
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions.values()].map((subscription) => subscription.stop()));
    this.connected = false;
  }

  private partitionsOf(topic: string): PartitionLog[] {
    let partitions = this.topics.get(topic);
    if (!partitions) {
      partitions = Array.from({ length: this.partitionsPerTopic }, () => ({ base: 0, messages: [] }));
      this.topics.set(topic, partitions);
    }
    return partitions;
  }

  private log(ref: PartitionRef): PartitionLog {
    return this.partitionsOf(ref.topic)[ref.partition];
  }

  private assertConnected(): void {
    if (!this.connected) throw new Error('The message bus is not connected');
  }
}

interface SubscriptionContext {
  log(ref: PartitionRef): PartitionLog;
  /** Resolves on the next publish, or when the signal aborts. */
  waitForAppend(signal: AbortSignal): Promise<void>;
  retry: HandlerRetryOptions;
  logger: LoggerService;
  onStopped(): void;
}

class InProcessSubscription implements Subscription {
  private readonly stopping = new AbortController();
  private readonly delivering: Promise<void>;
  /** Where the round-robin over partitions resumes, so a busy partition cannot starve the others. */
  private cursor = 0;

  constructor(
    private readonly partitions: PartitionRef[],
    private readonly committed: Map<string, number>,
    private readonly startOffsets: Map<string, number>,
    private readonly options: SubscribeOptions,
    private readonly context: SubscriptionContext,
  ) {
    // Deliver from the next turn of the event loop on, as Kafka would: never inside subscribe().
    this.delivering = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.deliverUntilStopped());
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.delivering;
  }

  private async deliverUntilStopped(): Promise<void> {
    const { signal } = this.stopping;
    while (!signal.aborted) {
      const next = this.nextMessage();
      if (!next) {
        await this.context.waitForAppend(signal);
        continue;
      }
      const handled = await handleUntilSuccess(next.message, this.options.handler, {
        retry: this.context.retry,
        logger: this.context.logger,
        pause: (ms) => abortableDelay(ms, signal),
        isStopping: () => signal.aborted,
      });
      if (handled) this.committed.set(next.ref.id, Number(next.message.offset) + 1);
    }
    this.context.onStopped();
  }

  private nextMessage(): { ref: PartitionRef; message: IncomingMessage } | null {
    for (let step = 0; step < this.partitions.length; step++) {
      const ref = this.partitions[(this.cursor + step) % this.partitions.length];
      const log = this.context.log(ref);
      // Like Kafka's auto.offset.reset=earliest: an offset retention already dropped resumes at the oldest kept.
      const offset = Math.max(log.base, this.committed.get(ref.id) ?? this.startOffsets.get(ref.id) ?? 0);
      const stored = log.messages[offset - log.base];
      if (stored) {
        this.cursor = (this.cursor + step + 1) % this.partitions.length;
        const { topic, partition } = ref;
        const { key, value, headers } = stored;
        return { ref, message: { topic, partition, offset: String(offset), key, value: Buffer.from(value), headers: { ...headers } } };
      }
    }
    return null;
  }
}

/** FNV-1a: stable, so a key always maps to one partition. It need not match Kafka's murmur2. */
function partitionForKey(key: string, partitionCount: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key)) {
    hash = Math.imul(hash ^ byte, 0x01000193);
  }
  return (hash >>> 0) % partitionCount;
}
