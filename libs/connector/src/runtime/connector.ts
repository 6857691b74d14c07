import { Logger, type LoggerService } from '@nestjs/common';
import { join } from 'node:path';
import { KafkaBus, type MessageBus } from '@ledger/bus';
import { AmazonAdapter } from '../adapters/amazon/amazon-adapter';
import { FlipkartAdapter } from '../adapters/flipkart/flipkart-adapter';
import { CachedAccessToken, flipkartClientCredentials, lwaRefreshToken } from '../adapters/oauth-token';
import { ShopifyAdapter } from '../adapters/shopify/shopify-adapter';
import { LoggingChannelAdapter, type ChannelAdapter } from '../channel-adapter';
import { LedgerClient } from '../ledger/ledger-client';
import { ListingCatalog } from '../listings';
import { ConnectorMetrics } from '../metrics';
import { FlipkartShipmentPoller } from '../orders/flipkart-poller';
import { OrderIntake } from '../orders/order-intake';
import { Reconciler } from '../reconcile/reconciler';
import { AvailabilityConsumer } from '../sources/availability-consumer';
import { resyncFromLedger } from '../sources/resync';
import { SseAvailabilitySource } from '../sources/sse-source';
import { SqliteSyncStateStore } from '../state/sqlite-sync-state-store';
import { ChannelSync } from '../sync/channel-sync';
import type { ConnectorConfig } from './connector-config';
import { ConnectorHttpServer } from './connector-http';

export interface ConnectorDeps {
  logger?: LoggerService;
  /** A bus to use instead of connecting to Kafka (tests: the in-process bus). */
  bus?: MessageBus;
}

/**
 * One connector: one ledger channel mirrored to one channel account. Loads the channel's listings
 * from the ledger (and again on an interval), pushes counts from the chosen source through the
 * channel's adapter, takes orders in (webhooks or polling), reconciles on a schedule, and serves
 * health, metrics, webhooks and admin actions on its own port.
 */
export class Connector {
  url = '';
  private readonly timers: NodeJS.Timeout[] = [];
  private kafkaConsumer: AvailabilityConsumer | null = null;
  private sseSource: SseAvailabilitySource | null = null;
  private ownedBus: MessageBus | null = null;
  private started = false;

  private constructor(
    readonly config: ConnectorConfig,
    readonly metrics: ConnectorMetrics,
    readonly store: SqliteSyncStateStore,
    readonly ledger: LedgerClient,
    readonly listings: ListingCatalog,
    readonly adapter: ChannelAdapter,
    readonly sync: ChannelSync,
    readonly intake: OrderIntake | null,
    readonly reconciler: Reconciler,
    readonly http: ConnectorHttpServer,
    private readonly logger: LoggerService,
    private readonly deps: ConnectorDeps,
  ) {}

  static async start(config: ConnectorConfig, deps: ConnectorDeps = {}): Promise<Connector> {
    const logger = deps.logger ?? new Logger(`Connector:${config.channel}`);
    const metrics = new ConnectorMetrics(config.channel);
    const store = new SqliteSyncStateStore(join(config.dataDir, `connector-${config.channel}.db`));
    const ledger = new LedgerClient({ baseUrl: config.ledgerUrl, token: config.ledgerToken, logger });
    const listings = config.kind === 'log' ? new ListingCatalog([], true) : new ListingCatalog(await ledger.listings(config.channel));
    const adapter = createAdapter(config, metrics, logger);
    const sync = new ChannelSync({ channel: config.channel, adapter, store, listings, metrics, logger, lowStockMark: config.lowStockMark });
    const intake =
      config.kind === 'log'
        ? null
        : new OrderIntake({ channel: config.channel, prefix: config.kind, ledger, store, listings, sync, metrics, logger, ttlSeconds: config.orderTtlSeconds ?? undefined });
    const reconciler = new Reconciler({ sync, adapter, metrics, logger, settleMs: config.amazon?.settleMs ?? 0, belowGraceMs: config.belowGraceMs });
    let connector: Connector | null = null;
    const http = new ConnectorHttpServer({
      channel: config.channel,
      kind: config.kind,
      metrics,
      store,
      intake,
      shopifyWebhookSecret: config.shopify?.webhookSecret ?? null,
      adminToken: config.adminToken,
      ready: () => connector?.readiness() ?? { ready: false, detail: { reason: 'starting' } },
      reconcile: () => reconciler.run(),
      resync: () => resyncFromLedger(sync, ledger),
      logger,
    });
    connector = new Connector(config, metrics, store, ledger, listings, adapter, sync, intake, reconciler, http, logger, deps);
    try {
      await connector.begin();
    } catch (error) {
      await connector.stop();
      throw error;
    }
    return connector;
  }

  /** Health detail: ready once the source runs; the backlog and source state either way. */
  readiness(): { ready: boolean; detail: Record<string, unknown> } {
    return {
      ready: this.started,
      detail: { source: this.config.source, listings: this.listings.size, backlog: this.sync.backlog(), sse: this.sseSource?.stats ?? null },
    };
  }

  async stop(): Promise<void> {
    this.started = false;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    await this.http.close();
    await this.sseSource?.stop();
    await this.kafkaConsumer?.stop();
    await this.ownedBus?.close();
    await this.sync.stop();
    await this.adapter.close?.();
    this.store.close();
  }

  private async begin(): Promise<void> {
    const { config, sync, ledger, logger } = this;
    this.url = await this.http.listen(config.port, config.host);
    sync.start();
    if (config.source === 'sse') {
      this.sseSource = new SseAvailabilitySource({ baseUrl: config.ledgerUrl, token: config.ledgerToken, sync, ledger, logger });
      await this.sseSource.start();
    } else {
      if (!config.kafka) throw new Error('CONNECTOR_SOURCE=kafka needs KAFKA_BROKERS');
      const bus = this.deps.bus ?? new KafkaBus(config.kafka.bus);
      if (!this.deps.bus) {
        this.ownedBus = bus;
        await bus.connect();
      }
      this.kafkaConsumer = new AvailabilityConsumer({ bus, topic: config.kafka.topic, channel: config.channel, sync, groupId: config.kafka.groupId, logger });
      await resyncFromLedger(sync, ledger);
      await this.kafkaConsumer.start();
    }
    this.every(config.listingsRefreshMs, 'listings reload', async () => {
      if (config.kind === 'log') return;
      const added = this.listings.replace(await ledger.listings(config.channel));
      if (added.length) sync.listingsAdded(added);
    });
    if (config.reconcileIntervalMs > 0) this.every(config.reconcileIntervalMs, 'reconciliation', () => this.reconciler.run());
    if (config.flipkart && this.intake && this.adapter instanceof FlipkartAdapter) {
      const poller = new FlipkartShipmentPoller({ api: this.adapter, intake: this.intake, store: this.store, channel: config.channel, logger });
      this.every(config.flipkart.pollIntervalMs, 'Flipkart shipments poll', () => poller.poll());
    }
    this.started = true;
    logger.log(`connector ${config.channel} (${config.kind}, source ${config.source}) on ${this.url}, ${this.listings.size} listings`);
  }

  /** Runs `work` every `ms`, never two at once; failures are logged and tried at the next tick. */
  private every(ms: number, what: string, work: () => Promise<unknown>): void {
    if (!(ms > 0)) return;
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      work()
        .catch((error: unknown) => this.logger.warn(`${what} failed: ${(error as Error).message}`))
        .finally(() => (busy = false));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }
}

function createAdapter(config: ConnectorConfig, metrics: ConnectorMetrics, logger: LoggerService): ChannelAdapter {
  switch (config.kind) {
    case 'shopify': {
      const shopify = config.shopify!;
      return new ShopifyAdapter({ adminUrl: shopify.adminUrl, accessToken: shopify.accessToken, apiVersion: shopify.apiVersion, batchSize: shopify.batchSize, channel: config.channel, metrics, logger });
    }
    case 'amazon': {
      const amazon = config.amazon!;
      const token = new CachedAccessToken(lwaRefreshToken({ tokenUrl: amazon.lwaUrl, clientId: amazon.clientId, clientSecret: amazon.clientSecret, refreshToken: amazon.refreshToken }));
      return new AmazonAdapter({
        spApiUrl: amazon.spApiUrl,
        sellerId: amazon.sellerId,
        marketplaceId: amazon.marketplaceId,
        token,
        channel: config.channel,
        patchRate: amazon.patchRate,
        feedThreshold: amazon.feedThreshold,
        feedsPerWindow: amazon.feedsPerWindow,
        feedWindowMs: amazon.feedWindowMs,
        metrics,
        logger,
      });
    }
    case 'flipkart': {
      const flipkart = config.flipkart!;
      const token = new CachedAccessToken(flipkartClientCredentials({ apiUrl: flipkart.apiUrl, clientId: flipkart.clientId, clientSecret: flipkart.clientSecret }));
      return new FlipkartAdapter({ apiUrl: flipkart.apiUrl, token, channel: config.channel, rate: flipkart.rate, metrics, logger });
    }
    case 'log':
      return new LoggingChannelAdapter(config.channel, logger);
  }
}
