import { Logger, type LoggerService } from '@nestjs/common';
import {
  Kafka,
  logLevel,
  Partitioners,
  type Consumer,
  type IHeaders,
  type KafkaMessage,
  type logCreator,
  type Message,
  type Producer,
} from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import type { IncomingMessage, MessageBus, OutgoingMessage, SubscribeOptions, Subscription } from '../bus.port';
import { abortableDelay, DEFAULT_HANDLER_RETRY, handleUntilSuccess, type HandlerRetryOptions } from '../handler-retry';

export interface KafkaBusConfig {
  clientId: string;
  brokers: string[];
  /** true: TLS with the system's CAs; an object: TLS with these options (CA, client certificate). */
  ssl?: boolean | ConnectionOptions;
  sasl?: PasswordSasl<'plain'> | PasswordSasl<'scram-sha-256'> | PasswordSasl<'scram-sha-512'>;
  /**
   * Keep on in production (the default): broker-side sequence numbers stop a retried send from
   * duplicating or reordering messages. Off only against librdkafka's mock cluster, which cannot do it.
   */
  idempotent?: boolean;
  /**
   * Keep off in production (the default): topics come from deploy/kafka/create-topics.sh with their
   * partitions and replication, and a mistyped name fails instead of creating a stray topic.
   */
  allowAutoTopicCreation?: boolean;
  /** kafkajs's own log lines go here; default a Nest logger. */
  logger?: LoggerService;
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
  /** Retries of Kafka requests (connecting, fetching, committing); not of message handlers. */
  retry?: { retries?: number; initialRetryTimeMs?: number; maxRetryTimeMs?: number };
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Group membership timing; the defaults suit production, tests shorten them to rebalance quickly. */
  consumer?: { sessionTimeoutMs?: number; heartbeatIntervalMs?: number; rebalanceTimeoutMs?: number; maxWaitTimeMs?: number };
  handlerRetry?: HandlerRetryOptions;
}

interface PasswordSasl<Mechanism extends string> {
  mechanism: Mechanism;
  username: string;
  password: string;
}

const LOG_LEVELS = { error: logLevel.ERROR, warn: logLevel.WARN, info: logLevel.INFO, debug: logLevel.DEBUG };

/** The bus on Kafka through kafkajs, which stays behind the port. */
export class KafkaBus implements MessageBus {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly logger: LoggerService;
  private readonly subscriptions = new Set<KafkaSubscription>();
  /** Groups whose consumer crashed and that kafkajs will not restart. */
  private readonly failedGroups = new Set<string>();
  private producerConnected = false;

  constructor(private readonly config: KafkaBusConfig) {
    this.logger = config.logger ?? new Logger(KafkaBus.name);
    const { retries, initialRetryTimeMs, maxRetryTimeMs } = config.retry ?? {};
    this.kafka = new Kafka({
      clientId: config.clientId,
      brokers: config.brokers,
      ssl: config.ssl,
      sasl: config.sasl,
      connectionTimeout: config.connectionTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      retry: { retries, initialRetryTime: initialRetryTimeMs, maxRetryTime: maxRetryTimeMs },
      logLevel: LOG_LEVELS[config.logLevel ?? 'info'],
      logCreator: kafkaLogTo(this.logger),
    });
    const idempotent = config.idempotent ?? true;
    this.producer = this.kafka.producer({
      idempotent,
      // Giving up and sending again would get new sequence numbers, voiding what idempotence buys.
      retry: idempotent ? { retries: Number.MAX_SAFE_INTEGER } : undefined,
      // One request in flight per broker, so a retried request cannot overtake a later one of the same key.
      maxInFlightRequests: 1,
      allowAutoTopicCreation: config.allowAutoTopicCreation ?? false,
      // Java-compatible murmur2: other clients put a key on the same partition.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.producer.on(this.producer.events.CONNECT, () => (this.producerConnected = true));
    this.producer.on(this.producer.events.DISCONNECT, () => (this.producerConnected = false));
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  async publish(messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const byTopic = new Map<string, Message[]>();
    for (const { topic, key, value, headers } of messages) {
      const topicMessages = byTopic.get(topic) ?? [];
      topicMessages.push({ key, value, headers });
      byTopic.set(topic, topicMessages);
    }
    const topicMessages = [...byTopic].map(([topic, batch]) => ({ topic, messages: batch }));
    await this.producer.sendBatch({ acks: -1, topicMessages });
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const { sessionTimeoutMs, heartbeatIntervalMs = 3_000, rebalanceTimeoutMs, maxWaitTimeMs } = this.config.consumer ?? {};
    const consumer = this.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: heartbeatIntervalMs,
      rebalanceTimeout: rebalanceTimeoutMs,
      maxWaitTimeInMs: maxWaitTimeMs,
      allowAutoTopicCreation: this.config.allowAutoTopicCreation ?? false,
    });
    consumer.on(consumer.events.GROUP_JOIN, () => this.failedGroups.delete(options.groupId));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.failedGroups.add(options.groupId);
    });
    const subscription = new KafkaSubscription(consumer, options, {
      retry: this.config.handlerRetry ?? DEFAULT_HANDLER_RETRY,
      logger: this.logger,
      heartbeatIntervalMs,
      onStopped: () => this.subscriptions.delete(subscription),
    });
    this.subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (error) {
      await subscription.stop();
      throw error;
    }
    return subscription;
  }

  isHealthy(): boolean {
    return this.producerConnected && this.failedGroups.size === 0;
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    await this.producer.disconnect();
  }
}

interface SubscriptionContext {
  retry: HandlerRetryOptions;
  logger: LoggerService;
  heartbeatIntervalMs: number;
  onStopped(): void;
}

class KafkaSubscription implements Subscription {
  private readonly stopping = new AbortController();

  constructor(
    private readonly consumer: Consumer,
    private readonly options: SubscribeOptions,
    private readonly context: SubscriptionContext,
  ) {}

  /** Resolves once the consumer joined its group (kafkajs's run() waits for that). */
  async start(): Promise<void> {
    const { signal } = this.stopping;
    const { topics, fromBeginning = false, handler } = this.options;
    await this.consumer.connect();
    await this.consumer.subscribe({ topics, fromBeginning });
    await this.consumer.run({
      // Offsets are resolved and committed by hand, each only after its handler resolved.
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }) => {
        const isStopping = () => signal.aborted || !isRunning() || isStale();
        for (const message of batch.messages) {
          const incoming = toIncomingMessage(batch.topic, batch.partition, message);
          const handled = await handleUntilSuccess(incoming, handler, {
            retry: this.context.retry,
            logger: this.context.logger,
            isStopping,
            // Heartbeat through a long backoff, or the group would evict this member and rebalance.
            pause: async (ms) => {
              for (const until = Date.now() + ms; !isStopping() && Date.now() < until; ) {
                await abortableDelay(Math.min(this.context.heartbeatIntervalMs, until - Date.now()), signal);
                if (!signal.aborted) await heartbeat();
              }
            },
          });
          if (!handled) return;
          // Resolving moves kafkajs's fetch position; the commit makes it the group's. Each message is
          // committed as it is done, so a restart redelivers at most the one in progress.
          resolveOffset(message.offset);
          const offset = (BigInt(message.offset) + 1n).toString();
          const partitions = [{ partition: batch.partition, offset }];
          await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions }] });
          await heartbeat();
        }
      },
    });
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.consumer.disconnect();
    this.context.onStopped();
  }
}

function toIncomingMessage(topic: string, partition: number, message: KafkaMessage): IncomingMessage {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key === null ? null : message.key.toString(),
    value: message.value,
    headers: headersToStrings(message.headers ?? {}),
  };
}

/** Kafka allows a header name more than once; this bus never sends that, so the last one wins. */
function headersToStrings(headers: IHeaders): Record<string, string> {
  const strings: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) strings[name] = last.toString();
  }
  return strings;
}

function kafkaLogTo(logger: LoggerService): logCreator {
  return () =>
    ({ namespace, level, log: { message, timestamp: _timestamp, logger: _logger, ...extra } }) => {
      const text = `${namespace}: ${message}${Object.keys(extra).length ? ` ${JSON.stringify(extra)}` : ''}`;
      if (level === logLevel.ERROR) logger.error(text);
      else if (level === logLevel.WARN) logger.warn(text);
      else if (level === logLevel.INFO) logger.log(text);
      else logger.debug?.(text);
    };
}
