import { Logger, type LoggerService } from '@nestjs/common';
import type { IncomingMessage, MessageBus, Subscription } from '@ledger/bus';
import type { ChannelAdapter } from '../channel-adapter';
import { LedgerClient } from '../ledger/ledger-client';
import type { SyncStateStore } from '../state/sync-state-store';
import { ChannelSync, type AvailabilityUpdate } from '../sync/channel-sync';
import { resyncFromLedger } from './resync';

export interface AvailabilityConsumerOptions {
  bus: MessageBus;
  /** The full name of `inventory.availability.v1` (with the environment's prefix). */
  topic: string;
  channel: string;
  /** Where counts go. Without it, one is made from `adapter` and `store` and runs with the consumer. */
  sync?: ChannelSync;
  adapter?: ChannelAdapter;
  store?: SyncStateStore;
  /** Default `inventory-connector.<channel>`. */
  groupId?: string;
  /** Where a new group starts: the topic is compacted, so from the beginning gives every count. Default true. */
  fromBeginning?: boolean;
  logger?: LoggerService;
}

export interface ConsumerStats {
  /** Newer than what the connector held: recorded and queued for the channel. */
  applied: number;
  /** Older than or equal to what was recorded: redeliveries, replays, reordering. */
  stale: number;
  /** Other channels' messages, tombstones and values that are not availability messages. */
  ignored: number;
  /** Kept for the reference consumer's shape: per-SKU refusals are in the sync's store and metrics. */
  refused: number;
}

/**
 * The Kafka source: consumes `inventory.availability.v1` for one channel through the bus port and
 * offers each count to the channel's ChannelSync, which applies the revision rule and records it
 * before the handler resolves, so the offset is committed only for counts that are safe.
 */
export class AvailabilityConsumer {
  readonly channel: string;
  readonly sync: ChannelSync;
  readonly stats: ConsumerStats = { applied: 0, stale: 0, ignored: 0, refused: 0 };
  private readonly logger: LoggerService;
  private readonly keyPrefix: string;
  private readonly ownsSync: boolean;
  private subscription: Subscription | null = null;

  constructor(private readonly options: AvailabilityConsumerOptions) {
    this.channel = options.channel;
    this.logger = options.logger ?? new Logger(`AvailabilityConsumer:${options.channel}`);
    this.keyPrefix = `${options.channel}:`;
    if (!options.sync && !options.adapter) throw new Error('AvailabilityConsumer needs a sync or an adapter');
    this.ownsSync = !options.sync;
    this.sync = options.sync ?? new ChannelSync({ channel: options.channel, adapter: options.adapter!, store: options.store, logger: this.logger });
  }

  get store(): SyncStateStore {
    return this.sync.store;
  }

  /** Joins the consumer group; resolves once messages flow. */
  async start(): Promise<void> {
    if (this.subscription) return;
    if (this.ownsSync) this.sync.start();
    this.subscription = await this.options.bus.subscribe({
      groupId: this.options.groupId ?? `inventory-connector.${this.channel}`,
      topics: [this.options.topic],
      fromBeginning: this.options.fromBeginning ?? true,
      handler: async (message) => this.handle(message),
    });
  }

  async stop(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = null;
    await subscription?.stop();
    if (this.ownsSync) await this.sync.stop();
  }

  /** One message from the topic: recorded (or dropped by the rule) before this returns. */
  handle(message: IncomingMessage): void {
    if (!message.key?.startsWith(this.keyPrefix) || !message.value) {
      this.stats.ignored += 1;
      return;
    }
    const update = parseUpdate(message.value, this.channel);
    if (!update) {
      this.stats.ignored += 1;
      this.logger.warn(`ignored a value on ${message.topic}[${message.partition}]@${message.offset} that is not an availability message`);
      return;
    }
    const result = this.sync.offer([update]);
    this.stats.applied += result.accepted;
    this.stats.stale += result.stale;
  }

  /** A full resync from the ledger's HTTP API, by the same rule. Returns how many counts it read. */
  resync(baseUrl: string, token: string | null | undefined, options: { limit?: number; fetch?: typeof fetch } = {}): Promise<number> {
    return resyncFromLedger(this.sync, new LedgerClient({ baseUrl, token, fetch: options.fetch, logger: this.logger }), options.limit ?? 500);
  }
}

export function parseUpdate(value: Buffer | string, channel: string): AvailabilityUpdate | null {
  try {
    const parsed = JSON.parse(value.toString()) as Record<string, unknown>;
    const { sku, available, revision, position } = parsed;
    if (parsed.channel !== channel || typeof sku !== 'string') return null;
    if (![available, revision, position].every((n) => typeof n === 'number' && Number.isFinite(n))) return null;
    return { sku, available: available as number, revision: revision as number, position: position as number };
  } catch {
    return null;
  }
}
