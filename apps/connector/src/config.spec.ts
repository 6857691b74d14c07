import { loadConnectorConfig } from './config';

describe('connector configuration', () => {
  const base = { CONNECTOR_CHANNEL: 'web', LEDGER_URL: 'http://ledger:3000', LEDGER_TOKEN: 'service-token-1234567' };

  it('reads a Shopify connector on the SSE source (no KAFKA_BROKERS) with its defaults', () => {
    const config = loadConnectorConfig({ ...base, CONNECTOR_KIND: 'shopify', SHOPIFY_ADMIN_URL: 'https://shop.myshopify.com', SHOPIFY_ACCESS_TOKEN: 'shpat_x', SHOPIFY_WEBHOOK_SECRET: 'secret' });
    expect(config).toMatchObject({
      channel: 'web',
      kind: 'shopify',
      source: 'sse',
      port: 3100,
      ledgerUrl: 'http://ledger:3000',
      kafka: null,
      shopify: { adminUrl: 'https://shop.myshopify.com', accessToken: 'shpat_x', apiVersion: '2026-01', webhookSecret: 'secret', batchSize: 100 },
    });
  });

  it('reads Amazon with Login with Amazon defaults and Kafka when brokers are set', () => {
    const config = loadConnectorConfig({
      ...base,
      CONNECTOR_CHANNEL: 'amazon-in',
      CONNECTOR_KIND: 'amazon',
      KAFKA_BROKERS: 'k1:9092, k2:9092',
      KAFKA_TOPIC_PREFIX: 'staging.',
      AMAZON_SP_API_URL: 'https://sellingpartnerapi-eu.amazon.com',
      AMAZON_SELLER_ID: 'A1',
      AMAZON_MARKETPLACE_ID: 'A21TJRUUN4KGV',
      AMAZON_LWA_CLIENT_ID: 'id',
      AMAZON_LWA_CLIENT_SECRET: 'secret',
      AMAZON_REFRESH_TOKEN: 'Atzr|x',
    });
    expect(config.source).toBe('kafka');
    expect(config.kafka).toMatchObject({ topic: 'staging.inventory.availability.v1', groupId: 'inventory-connector.amazon-in', bus: { brokers: ['k1:9092', 'k2:9092'] } });
    expect(config.amazon).toMatchObject({ lwaUrl: 'https://api.amazon.com/auth/o2/token', patchRate: { ratePerSecond: 5, burst: 5 }, feedsPerWindow: 5, feedWindowMs: 300_000 });
  });

  it('refuses a bad start, naming every problem', () => {
    expect(() => loadConnectorConfig({ CONNECTOR_KIND: 'flipkart', CONNECTOR_SOURCE: 'kafka', SHOPIFY_API_VERSION: '2025-10', CONNECTOR_PORT: 'x' })).toThrow(
      /CONNECTOR_CHANNEL is required[\s\S]*KAFKA_BROKERS is required[\s\S]*CONNECTOR_PORT must be[\s\S]*LEDGER_URL is required[\s\S]*FLIPKART_CLIENT_ID is required[\s\S]*FLIPKART_CLIENT_SECRET is required/,
    );
    expect(() => loadConnectorConfig({ ...base, CONNECTOR_KIND: 'shopify', SHOPIFY_API_VERSION: '2025-10', SHOPIFY_ADMIN_URL: 'https://s', SHOPIFY_ACCESS_TOKEN: 't', SHOPIFY_WEBHOOK_SECRET: 's' })).toThrow(/SHOPIFY_API_VERSION must be 2026-01 or later/);
  });
});
