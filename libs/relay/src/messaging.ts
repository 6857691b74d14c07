import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import { InProcessBus, KafkaBus, MESSAGE_BUS, topicNames, type MessageBus, type TopicNames } from '@ledger/bus';
import { LEDGER_CONFIG, type LedgerConfig } from '@ledger/platform';

/** KafkaBus when KAFKA_BROKERS is set, else the in-process bus. */
export function createMessageBus(config: LedgerConfig): MessageBus {
  const kafka = config.kafka;
  if (!kafka) return new InProcessBus();
  return new KafkaBus({
    clientId: kafka.clientId,
    brokers: kafka.brokers,
    ssl: kafka.ssl || undefined,
    sasl: kafka.sasl ?? undefined,
    idempotent: kafka.idempotentProducer,
    allowAutoTopicCreation: kafka.allowAutoTopicCreation,
    logLevel: config.logLevel === 'debug' ? 'info' : config.logLevel === 'log' ? 'warn' : config.logLevel,
    consumer: kafka.consumer,
  });
}

interface Participant {
  name: string;
  stop(): Promise<void>;
}

const CONNECT_RETRY = { initialDelayMs: 500, maxDelayMs: 30_000 };

/**
 * The app's side of the bus: connects it on bootstrap (in the background and retrying, so a Kafka
 * outage delays the relays but never the HTTP API), starts what waits for it, and on shutdown stops
 * those before it closes the bus.
 */
@Injectable()
export class Messaging implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(Messaging.name);
  readonly topics: TopicNames;
  readonly kind: 'kafka' | 'in-process';
  /** The producer's client id, or `in-process`: intake records its actor as `kafka:<clientId>`. */
  readonly clientId: string;
  /** The consumer group of the command intake. */
  readonly groupId: string;
  private readonly closing = new AbortController();
  private readonly participants: Participant[] = [];
  private markConnected!: () => void;
  private readonly connected = new Promise<void>((resolve) => (this.markConnected = resolve));
  private isConnected = false;
  private closed: Promise<void> | null = null;

  constructor(
    @Inject(MESSAGE_BUS) readonly bus: MessageBus,
    @Inject(LEDGER_CONFIG) config: LedgerConfig,
  ) {
    this.topics = topicNames(config.kafka?.topicPrefix ?? '');
    this.kind = config.kafka ? 'kafka' : 'in-process';
    this.clientId = config.kafka?.clientId ?? 'in-process';
    this.groupId = config.kafka?.groupId ?? 'inventory-ledger';
  }

  onApplicationBootstrap(): void {
    void this.connectUntilDone();
  }

  /** Runs `start` once the bus is connected (never, if the app closes first). */
  whenConnected(start: () => void | Promise<void>): void {
    void this.connected.then(async () => {
      if (this.closing.signal.aborted) return;
      try {
        await start();
      } catch (error) {
        this.logger.error(`starting after connect failed: ${(error as Error).message}`, (error as Error).stack);
      }
    });
  }

  /** Stopped, in reverse order of registration, before the bus closes. */
  register(participant: Participant): void {
    this.participants.push(participant);
  }

  get connectedNow(): boolean {
    return this.isConnected;
  }

  get isClosing(): boolean {
    return this.closing.signal.aborted;
  }

  async onModuleDestroy(): Promise<void> {
    this.closed ??= this.close();
    await this.closed;
  }

  private async close(): Promise<void> {
    this.closing.abort();
    for (const participant of [...this.participants].reverse()) {
      await participant.stop().catch((error: Error) => this.logger.error(`stopping ${participant.name} failed: ${error.message}`));
    }
    await this.bus.close().catch((error: Error) => this.logger.error(`closing the bus failed: ${error.message}`));
  }

  private async connectUntilDone(): Promise<void> {
    const { signal } = this.closing;
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        await this.bus.connect();
        this.isConnected = true;
        if (attempt > 1) this.logger.log(`connected to the ${this.kind} bus after ${attempt} attempts`);
        this.markConnected();
        return;
      } catch (error) {
        const wait = Math.min(CONNECT_RETRY.maxDelayMs, CONNECT_RETRY.initialDelayMs * 2 ** (attempt - 1));
        this.logger.error(`connecting to the ${this.kind} bus failed (attempt ${attempt}): ${(error as Error).message}; retrying in ${wait} ms`);
        await delay(wait, undefined, { signal }).catch(() => undefined);
      }
    }
  }
}
