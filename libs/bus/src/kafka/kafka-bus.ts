import { Logger, type LoggerService } from '@nestjs/common';
import {
  Kafka,
  logLevel,
  Partitioners,
  type Consumer,
  type IHeaders,
  type ISocketFactory,
  type KafkaConfig,
  type KafkaMessage,
  type logCreator,
  type Message,
  type Producer,
} from 'kafkajs';
import { connect as connectTcp, isIP, Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
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
  /**
   * How long stopping a subscription, or closing the bus, waits for kafkajs (a handler in progress,
   * leaving the group, disconnecting); default 10 s. Past it the client's connections are cut, so a
   * client stuck on brokers that are gone can neither hang the shutdown nor keep retrying.
   */
  closeTimeoutMs?: number;
}

interface PasswordSasl<Mechanism extends string> {
  mechanism: Mechanism;
  username: string;
  password: string;
}

const LOG_LEVELS = { error: logLevel.ERROR, warn: logLevel.WARN, info: logLevel.INFO, debug: logLevel.DEBUG };

/** The bus on Kafka through kafkajs, which stays behind the port. */
export class KafkaBus implements MessageBus {
  private readonly producer: Producer;
  private readonly producerSockets = new ClientSockets();
  private readonly logger: LoggerService;
  private readonly closeTimeoutMs: number;
  private readonly subscriptions = new Set<KafkaSubscription>();
  /** Groups whose consumer crashed and that kafkajs will not restart. */
  private readonly failedGroups = new Set<string>();
  private producerConnected = false;
  private closed = false;
  /** The partition kafkajs's partitioner last chose for each message in flight. */
  private readonly partitionOf = new WeakMap<Message, number>();

  constructor(private readonly config: KafkaBusConfig) {
    this.logger = config.logger ?? new Logger(KafkaBus.name);
    this.closeTimeoutMs = config.closeTimeoutMs ?? 10_000;
    const idempotent = config.idempotent ?? true;
    this.producer = this.client(this.producerSockets).producer({
      idempotent,
      // Giving up and sending again would get new sequence numbers, voiding what idempotence buys.
      retry: idempotent ? { retries: Number.MAX_SAFE_INTEGER } : undefined,
      // One request in flight per broker, so a retried request cannot overtake a later one of the same key.
      maxInFlightRequests: 1,
      allowAutoTopicCreation: config.allowAutoTopicCreation ?? false,
      // Java-compatible murmur2 (other clients put a key on the same partition), noting where each
      // message went so that publish() can check every partition was acknowledged.
      createPartitioner: () => {
        const partitionerFor = Partitioners.DefaultPartitioner();
        return (args) => {
          // kafkajs calls this on every attempt of a send. A send abandoned by a relay that stopped
          // would otherwise retry for ever after the close: an error marked not retriable ends it.
          if (this.closed) throw Object.assign(new Error('the Kafka bus is closed'), { retriable: false });
          const partition = partitionerFor(args);
          this.partitionOf.set(args.message, partition);
          return partition;
        };
      },
    });
    this.producer.on(this.producer.events.CONNECT, () => (this.producerConnected = true));
    this.producer.on(this.producer.events.DISCONNECT, () => (this.producerConnected = false));
  }

  /** One kafkajs client per producer or consumer, each with its own connections to cut. */
  private client(sockets: ClientSockets, overrides: Partial<KafkaConfig> = {}): Kafka {
    const { config } = this;
    const { retries, initialRetryTimeMs, maxRetryTimeMs } = config.retry ?? {};
    return new Kafka({
      clientId: config.clientId,
      brokers: config.brokers,
      ssl: config.ssl,
      sasl: config.sasl,
      connectionTimeout: config.connectionTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      retry: { retries, initialRetryTime: initialRetryTimeMs, maxRetryTime: maxRetryTimeMs },
      logLevel: LOG_LEVELS[config.logLevel ?? 'info'],
      // Once cut, its complaints about the cut connections are only noise.
      logCreator: kafkaLogTo(this.logger, () => sockets.wasCut),
      socketFactory: sockets.factory,
      ...overrides,
    });
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  /**
   * Resolves only once every message's partition was acknowledged. kafkajs (2.2.4) keeps the answers
   * of a batch per broker across its retries: when a broker dies mid-batch and its partitions move to
   * a broker that had already answered, it resolves without sending them (seen on the three-broker
   * test). So the answers are checked against where each message went, and what is missing is sent
   * again (never sent, so neither duplicated nor out of order).
   */
  async publish(messages: OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new Error('the Kafka bus is closed');
    let pending = messages.map(({ topic, key, value, headers }) => ({ topic, message: { key, value, headers } as Message }));
    while (pending.length > 0) {
      const byTopic = new Map<string, Message[]>();
      for (const { topic, message } of pending) byTopic.set(topic, [...(byTopic.get(topic) ?? []), message]);
      const acknowledged = await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, batch]) => ({ topic, messages: batch })) });
      const covered = new Set(acknowledged.map(({ topicName, partition }) => `${partition}@${topicName}`));
      const missing = pending.filter(({ topic, message }) => !covered.has(`${this.partitionOf.get(message)}@${topic}`));
      if (missing.length > 0) {
        const partitions = [...new Set(missing.map(({ topic, message }) => `${topic}[${this.partitionOf.get(message)}]`))];
        this.logger.warn(`Kafka acknowledged a batch without ${partitions.join(', ')} (a leader moved mid-send); sending their ${missing.length} messages again`);
      }
      pending = missing;
    }
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.closed) throw new Error('the Kafka bus is closed');
    const { sessionTimeoutMs, heartbeatIntervalMs = 3_000, rebalanceTimeoutMs, maxWaitTimeMs } = this.config.consumer ?? {};
    const stopping = new AbortController();
    const sockets = new ClientSockets();
    const { retries, initialRetryTimeMs, maxRetryTimeMs } = this.config.retry ?? {};
    const consumer = this.client(sockets).consumer({
      groupId: options.groupId,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: heartbeatIntervalMs,
      rebalanceTimeout: rebalanceTimeoutMs,
      maxWaitTimeInMs: maxWaitTimeMs,
      allowAutoTopicCreation: this.config.allowAutoTopicCreation ?? false,
      // kafkajs restarts a crashed consumer; a stopped one must stay down, or it would reconnect forever.
      retry: { retries, initialRetryTime: initialRetryTimeMs, maxRetryTime: maxRetryTimeMs, restartOnFailure: async () => !stopping.signal.aborted },
    });
    consumer.on(consumer.events.GROUP_JOIN, () => this.failedGroups.delete(options.groupId));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart && !stopping.signal.aborted) this.failedGroups.add(options.groupId);
    });
    const subscription = new KafkaSubscription(consumer, options, {
      retry: this.config.handlerRetry ?? DEFAULT_HANDLER_RETRY,
      logger: this.logger,
      heartbeatIntervalMs,
      stopping,
      sockets,
      closeTimeoutMs: this.closeTimeoutMs,
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
    return !this.closed && this.producerConnected && this.failedGroups.size === 0;
  }

  /** Stops every subscription, then disconnects the producer; each step bounded by closeTimeoutMs. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    await withinOrCut(this.producer.disconnect(), this.closeTimeoutMs, this.producerSockets, () =>
      this.logger.warn(`the Kafka producer did not disconnect within ${this.closeTimeoutMs} ms; its connections were cut`),
    );
    this.producerConnected = false;
  }
}

interface SubscriptionContext {
  retry: HandlerRetryOptions;
  logger: LoggerService;
  heartbeatIntervalMs: number;
  /** Aborted by stop(): ends a handler's backoff, and keeps kafkajs from restarting the consumer. */
  stopping: AbortController;
  sockets: ClientSockets;
  closeTimeoutMs: number;
  onStopped(): void;
}

class KafkaSubscription implements Subscription {
  private stopped: Promise<void> | null = null;

  constructor(
    private readonly consumer: Consumer,
    private readonly options: SubscribeOptions,
    private readonly context: SubscriptionContext,
  ) {}

  /** Resolves once the consumer joined its group (kafkajs's run() waits for that). */
  async start(): Promise<void> {
    const { signal } = this.context.stopping;
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

  /**
   * Waits for the handler in progress and leaves the group, for at most closeTimeoutMs: a handler
   * that never resolves, or brokers that are gone, would otherwise hold the stop forever.
   */
  stop(): Promise<void> {
    this.stopped ??= this.stopWithin();
    return this.stopped;
  }

  private async stopWithin(): Promise<void> {
    const { stopping, closeTimeoutMs, sockets, logger } = this.context;
    stopping.abort();
    await withinOrCut(this.consumer.disconnect(), closeTimeoutMs, sockets, () =>
      logger.warn(`the consumer of group ${this.options.groupId} did not stop within ${closeTimeoutMs} ms (a handler still running, or brokers gone); its connections were cut`),
    );
    this.context.onStopped();
  }
}

/**
 * The sockets of one kafkajs client (kafkajs takes a socket factory). Cutting them destroys every
 * open one and fails every later connect at once, which ends whatever kafkajs still had in flight.
 */
class ClientSockets {
  private readonly open = new Set<Socket>();
  private cut = false;

  get wasCut(): boolean {
    return this.cut;
  }

  readonly factory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
    if (this.cut) {
      const refused = new Socket();
      process.nextTick(() => refused.destroy(new Error('this Kafka client was closed')));
      return refused;
    }
    // As kafkajs's own factory does.
    const socket = ssl
      ? connectTls({ host, port, ...(isIP(host) ? {} : { servername: host }), ...(typeof ssl === 'object' ? ssl : {}) }, onConnect)
      : connectTcp({ host, port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
    return socket;
  };

  /**
   * With an error: kafkajs listens for 'error' and 'end', not 'close'. Only then does it reject what
   * is in flight and stop its request queue's timers (a 1 ms re-check while requests wait, which is
   * the CPU spin of a client left waiting on brokers that are gone).
   */
  cutAll(): void {
    this.cut = true;
    for (const socket of this.open) socket.destroy(new Error('the Kafka client was closed'));
    this.open.clear();
  }
}

/** Waits for `work` at most `timeoutMs`; past it, reports and cuts the client's connections. */
async function withinOrCut(work: Promise<unknown>, timeoutMs: number, sockets: ClientSockets, onTimeout: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const outcome = await Promise.race([work.then(() => 'done' as const, () => 'done' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    onTimeout();
    sockets.cutAll();
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

function kafkaLogTo(logger: LoggerService, muted: () => boolean): logCreator {
  return () =>
    ({ namespace, level, log: { message, timestamp: _timestamp, logger: _logger, ...extra } }) => {
      if (muted()) return;
      const text = `${namespace}: ${message}${Object.keys(extra).length ? ` ${JSON.stringify(extra)}` : ''}`;
      if (level === logLevel.ERROR) logger.error(text);
      else if (level === logLevel.WARN) logger.warn(text);
      else if (level === logLevel.INFO) logger.log(text);
      else logger.debug?.(text);
    };
}
