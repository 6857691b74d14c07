import { Logger, type LoggerService } from '@nestjs/common';
import type { IncomingMessage, MessageBus, Subscription } from '@ledger/bus';
import { InMemoryAvailabilityStore, type AvailabilityStateStore } from './availability-store';
import type { ChannelAdapter } from './channel-adapter';
import { isNewer } from './revision-rule';

/** One count for one SKU on this consumer's channel, from the topic or from a resync page. */
export interface AvailabilityUpdate {
  sku: string;
  available: number;
  revision: number;
  position: number;
}

export interface AvailabilityConsumerOptions {
  bus: MessageBus;
  /** The full name of `inventory.availability.v1` (with the environment's prefix). */
  topic: string;
  channel: string;
  adapter: ChannelAdapter;
  /** What was applied per SKU; default in memory (see AvailabilityStateStore for production). */
  store?: AvailabilityStateStore;
  /** Default `inventory-connector.<channel>`. */
  groupId?: string;
  /** Where a new group starts: the topic is compacted, so from the beginning gives every count. Default true. */
  fromBeginning?: boolean;
  logger?: LoggerService;
}

export interface ConsumerStats {
  applied: number;
  /** Older than or equal to what was applied: redeliveries, replays, reordering. */
  stale: number;
  /** Other channels' messages, tombstones and values that are not availability messages. */
  ignored: number;
  /** Updates the channel refused for good (AdapterRejectedError). */
  refused: number;
}

export interface ResyncOptions {
  /** Page size, at most 1000. Default 500. */
  limit?: number;
  fetch?: typeof fetch;
}

/**
 * The reference consumer of `inventory.availability.v1` for one channel. Every update goes through
 * the revision rule (isNewer): per SKU, only a higher (revision, position) than the one applied
 * reaches the adapter, so duplicates and stale values are dropped. Updates of one SKU are applied one
 * at a time, also when a resync runs beside the subscription.
 */
export class AvailabilityConsumer {
  readonly channel: string;
  readonly store: AvailabilityStateStore;
  readonly stats: ConsumerStats = { applied: 0, stale: 0, ignored: 0, refused: 0 };
  private readonly logger: LoggerService;
  private readonly keyPrefix: string;
  private readonly locks = new Map<string, Promise<unknown>>();
  private subscription: Subscription | null = null;

  constructor(private readonly options: AvailabilityConsumerOptions) {
    this.channel = options.channel;
    this.store = options.store ?? new InMemoryAvailabilityStore();
    this.logger = options.logger ?? new Logger(`AvailabilityConsumer:${options.channel}`);
    this.keyPrefix = `${options.channel}:`;
  }

  /** Joins the consumer group; resolves once messages flow. */
  async start(): Promise<void> {
    if (this.subscription) return;
    this.subscription = await this.options.bus.subscribe({
      groupId: this.options.groupId ?? `inventory-connector.${this.channel}`,
      topics: [this.options.topic],
      fromBeginning: this.options.fromBeginning ?? true,
      handler: (message) => this.handle(message),
    });
  }

  async stop(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = null;
    await subscription?.stop();
  }

  /** One message from the topic. Rejects (so the bus retries) only when the adapter failed. */
  async handle(message: IncomingMessage): Promise<void> {
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
    await this.apply(update);
  }

  /** Applies one update if it is newer than what was applied for its SKU. */
  apply(update: AvailabilityUpdate): Promise<'applied' | 'stale' | 'refused'> {
    return this.serialized(update.sku, async () => {
      const current = await this.store.get(update.sku);
      if (!isNewer(update, current)) {
        this.stats.stale += 1;
        return 'stale';
      }
      try {
        await this.options.adapter.setAvailable(update.sku, update.available);
      } catch (error) {
        if ((error as { retryable?: boolean }).retryable !== false) throw error;
        this.stats.refused += 1;
        this.logger.error(`${this.channel} refused ${update.sku} = ${update.available}: ${(error as Error).message}`);
        return 'refused';
      }
      await this.store.set(update.sku, { available: update.available, revision: update.revision, position: update.position });
      this.stats.applied += 1;
      return 'applied';
    });
  }

  /**
   * Reads every count of this channel from the ledger's HTTP API (`GET /v1/channels/:channel/availability`,
   * paged by cursor) and applies it by the same rule: a new connector's first picture, or a repair after
   * its store was lost. Returns how many SKUs it read.
   */
  async resync(baseUrl: string, token: string | null | undefined, options: ResyncOptions = {}): Promise<number> {
    const fetcher = options.fetch ?? globalThis.fetch;
    const limit = options.limit ?? 500;
    let cursor: string | null = '';
    let read = 0;
    while (cursor !== null) {
      const url = new URL(`v1/channels/${encodeURIComponent(this.channel)}/availability`, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
      url.searchParams.set('limit', String(limit));
      if (cursor) url.searchParams.set('cursor', cursor);
      const response = await fetcher(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
      if (!response.ok) throw new Error(`resync: GET ${url.pathname} answered ${response.status}`);
      const page = (await response.json()) as { items: AvailabilityUpdate[]; nextCursor: string | null };
      for (const item of page.items) {
        await this.apply({ sku: item.sku, available: item.available, revision: item.revision, position: item.position });
      }
      read += page.items.length;
      cursor = page.nextCursor;
    }
    this.logger.log(`resync of ${this.channel}: ${read} SKUs read from the ledger`);
    return read;
  }

  private serialized<T>(sku: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(sku) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.locks.set(sku, next);
    void next.finally(() => {
      if (this.locks.get(sku) === next) this.locks.delete(sku);
    }).catch(() => undefined);
    return next;
  }
}

function parseUpdate(value: Buffer, channel: string): AvailabilityUpdate | null {
  try {
    const parsed = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
    const { sku, available, revision, position } = parsed;
    if (parsed.channel !== channel || typeof sku !== 'string') return null;
    if (![available, revision, position].every((n) => typeof n === 'number' && Number.isFinite(n))) return null;
    return { sku, available: available as number, revision: revision as number, position: position as number };
  } catch {
    return null;
  }
}
