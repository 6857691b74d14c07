import { loadConnectorConfig } from './config';

describe('connector configuration', () => {
  it('reads brokers, channel, group and the optional resync and marketplace settings', () => {
    const config = loadConnectorConfig({
      KAFKA_BROKERS: 'k1:9092, k2:9092',
      CONNECTOR_CHANNEL: 'amazon',
      KAFKA_TOPIC_PREFIX: 'staging.',
      LEDGER_URL: 'http://ledger:3000',
      LEDGER_TOKEN: 'service-token-1234567',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: 'p',
    });
    expect(config).toMatchObject({
      channel: 'amazon',
      topicPrefix: 'staging.',
      groupId: 'inventory-connector.amazon',
      ledgerUrl: 'http://ledger:3000',
      ledgerToken: 'service-token-1234567',
      marketplace: null,
      kafka: { brokers: ['k1:9092', 'k2:9092'], clientId: 'inventory-connector-amazon', idempotent: true, allowAutoTopicCreation: false, sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } },
    });
  });

  it('refuses a missing broker list or channel, naming both', () => {
    expect(() => loadConnectorConfig({})).toThrow(/KAFKA_BROKERS is required[\s\S]*CONNECTOR_CHANNEL is required/);
  });
});
