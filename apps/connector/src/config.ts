import { topicNames } from '@ledger/bus';
import type { ConnectorConfig, ConnectorKind } from '@ledger/connector';

const KINDS: ConnectorKind[] = ['shopify', 'amazon', 'flipkart', 'log'];

/** Reads the connector's environment once at start; throws naming every bad or missing variable. */
export function loadConnectorConfig(env: NodeJS.ProcessEnv = process.env): ConnectorConfig {
  const problems: string[] = [];
  const text = (name: string, fallback = '') => (env[name] ?? '').trim() || fallback;
  const required = (name: string, why: string) => {
    const value = text(name);
    if (!value) problems.push(`${name} is required: ${why}`);
    return value;
  };
  const number = (name: string, fallback: number, { min = 0, integer = true } = {}) => {
    const raw = text(name);
    if (!raw) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
      problems.push(`${name} must be ${integer ? 'an integer' : 'a number'} of at least ${min}, got "${raw}"`);
      return fallback;
    }
    return value;
  };
  const url = (name: string, fallback?: string) => {
    const value = text(name, fallback);
    if (!value) {
      problems.push(`${name} is required (a URL)`);
      return '';
    }
    try {
      new URL(value);
    } catch {
      problems.push(`${name} must be a URL, got "${value}"`);
    }
    return value;
  };

  const channel = text('CONNECTOR_CHANNEL');
  if (!/^[A-Za-z0-9][A-Za-z0-9._@~-]{0,199}$/.test(channel)) problems.push('CONNECTOR_CHANNEL is required: the ledger channel to mirror (letters, digits, . _ @ ~ -, no colon)');
  const kind = text('CONNECTOR_KIND') as ConnectorKind;
  if (!KINDS.includes(kind)) problems.push(`CONNECTOR_KIND must be one of ${KINDS.join(', ')}`);
  const brokers = text('KAFKA_BROKERS').split(',').map((broker) => broker.trim()).filter(Boolean);
  const source = (text('CONNECTOR_SOURCE') || (brokers.length ? 'kafka' : 'sse')) as 'kafka' | 'sse';
  if (source !== 'kafka' && source !== 'sse') problems.push('CONNECTOR_SOURCE must be kafka or sse');
  if (source === 'kafka' && brokers.length === 0) problems.push('KAFKA_BROKERS is required with CONNECTOR_SOURCE=kafka (host:port, comma separated)');
  const sasl = text('KAFKA_SASL_MECHANISM').toLowerCase();
  if (sasl && !['plain', 'scram-sha-256', 'scram-sha-512'].includes(sasl)) problems.push('KAFKA_SASL_MECHANISM must be plain, scram-sha-256 or scram-sha-512');
  const prefix = text('KAFKA_TOPIC_PREFIX');
  let topic = '';
  try {
    topic = topicNames(prefix).availability;
  } catch (error) {
    problems.push(`KAFKA_TOPIC_PREFIX: ${(error as Error).message}`);
  }
  const optionalNumber = (name: string) => (text(name) ? number(name, 0, { min: 1 }) : null);

  const config: ConnectorConfig = {
    channel,
    kind,
    source,
    host: text('CONNECTOR_HOST', '127.0.0.1'),
    port: number('CONNECTOR_PORT', 3100),
    dataDir: text('CONNECTOR_DATA_DIR', './data'),
    ledgerUrl: url('LEDGER_URL'),
    ledgerToken: text('LEDGER_TOKEN') || null,
    adminToken: text('CONNECTOR_ADMIN_TOKEN') || null,
    listingsRefreshMs: number('CONNECTOR_LISTINGS_REFRESH_MS', 60_000),
    reconcileIntervalMs: number('CONNECTOR_RECONCILE_INTERVAL_MS', 900_000),
    belowGraceMs: number('CONNECTOR_BELOW_GRACE_MS', 900_000),
    lowStockMark: number('CONNECTOR_LOW_STOCK_MARK', 5),
    orderTtlSeconds: optionalNumber('CONNECTOR_ORDER_TTL_SECONDS'),
    kafka:
      source === 'kafka'
        ? {
            topic,
            groupId: text('CONNECTOR_GROUP_ID', `inventory-connector.${channel}`),
            bus: {
              clientId: text('KAFKA_CLIENT_ID', `inventory-connector-${channel}`),
              brokers,
              ssl: env.KAFKA_SSL === 'true' || undefined,
              sasl: sasl ? { mechanism: sasl as 'plain', username: text('KAFKA_SASL_USERNAME'), password: env.KAFKA_SASL_PASSWORD ?? '' } : undefined,
              // The connector only consumes; these matter for its producer only against the mock cluster.
              idempotent: env.KAFKA_IDEMPOTENT_PRODUCER !== 'false',
              allowAutoTopicCreation: env.KAFKA_ALLOW_AUTO_TOPIC_CREATION === 'true',
              logLevel: 'warn',
              consumer: {
                sessionTimeoutMs: optionalNumber('KAFKA_SESSION_TIMEOUT_MS') ?? undefined,
                heartbeatIntervalMs: optionalNumber('KAFKA_HEARTBEAT_INTERVAL_MS') ?? undefined,
                maxWaitTimeMs: optionalNumber('KAFKA_MAX_WAIT_TIME_MS') ?? undefined,
              },
            },
          }
        : null,
    shopify: null,
    amazon: null,
    flipkart: null,
  };

  if (kind === 'shopify') {
    const apiVersion = text('SHOPIFY_API_VERSION', '2026-01');
    if (!/^\d{4}-\d{2}$/.test(apiVersion) || apiVersion < '2026-01') problems.push(`SHOPIFY_API_VERSION must be 2026-01 or later (changeFromQuantity, @idempotent), got "${apiVersion}"`);
    config.shopify = {
      adminUrl: url('SHOPIFY_ADMIN_URL'),
      accessToken: required('SHOPIFY_ACCESS_TOKEN', 'the Admin API access token (X-Shopify-Access-Token)'),
      apiVersion,
      webhookSecret: required('SHOPIFY_WEBHOOK_SECRET', "the app's client secret, which signs webhooks"),
      batchSize: number('SHOPIFY_BATCH_SIZE', 100, { min: 1 }),
    };
  }
  if (kind === 'amazon') {
    config.amazon = {
      spApiUrl: url('AMAZON_SP_API_URL'),
      sellerId: required('AMAZON_SELLER_ID', 'the selling partner id'),
      marketplaceId: required('AMAZON_MARKETPLACE_ID', 'the default marketplace id'),
      lwaUrl: url('AMAZON_LWA_URL', 'https://api.amazon.com/auth/o2/token'),
      clientId: required('AMAZON_LWA_CLIENT_ID', 'the LWA client id'),
      clientSecret: required('AMAZON_LWA_CLIENT_SECRET', 'the LWA client secret'),
      refreshToken: required('AMAZON_REFRESH_TOKEN', "the seller's LWA refresh token"),
      feedThreshold: number('AMAZON_FEED_THRESHOLD', 50, { min: 1 }),
      feedsPerWindow: number('AMAZON_FEEDS_PER_WINDOW', 5, { min: 1 }),
      feedWindowMs: number('AMAZON_FEED_WINDOW_MS', 300_000, { min: 1 }),
      patchRate: { ratePerSecond: number('AMAZON_PATCH_RATE', 5, { min: 0.001, integer: false }), burst: number('AMAZON_PATCH_BURST', 5, { min: 1 }) },
      settleMs: number('AMAZON_SETTLE_MS', 900_000),
    };
  }
  if (kind === 'flipkart') {
    config.flipkart = {
      apiUrl: url('FLIPKART_API_URL', 'https://api.flipkart.net'),
      clientId: required('FLIPKART_CLIENT_ID', 'the application id'),
      clientSecret: required('FLIPKART_CLIENT_SECRET', 'the application secret'),
      pollIntervalMs: number('FLIPKART_POLL_INTERVAL_MS', 60_000, { min: 1 }),
      rate: { ratePerSecond: number('FLIPKART_REQUESTS_PER_SECOND', 5, { min: 0.001, integer: false }), burst: number('FLIPKART_BURST', 5, { min: 1 }) },
    };
  }
  if (problems.length > 0) throw new Error(`invalid connector configuration:\n  - ${problems.join('\n  - ')}`);
  return config;
}
