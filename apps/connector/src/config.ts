import type { KafkaBusConfig } from '@ledger/bus';

export interface ConnectorConfig {
  channel: string;
  kafka: KafkaBusConfig;
  topicPrefix: string;
  groupId: string;
  /** The ledger's HTTP API, for the resync at start; none: no resync. */
  ledgerUrl: string | null;
  ledgerToken: string | null;
  /** A marketplace API for HttpMarketplaceAdapter; none: LoggingChannelAdapter. */
  marketplace: { url: string; token: string; requestsPerSecond: number } | null;
}

/** Reads the connector's environment; throws with every problem at once. */
export function loadConnectorConfig(env: NodeJS.ProcessEnv = process.env): ConnectorConfig {
  const problems: string[] = [];
  const brokers = (env.KAFKA_BROKERS ?? '').split(',').map((broker) => broker.trim()).filter(Boolean);
  if (brokers.length === 0) problems.push('KAFKA_BROKERS is required (host:port, comma separated)');
  const channel = env.CONNECTOR_CHANNEL?.trim() ?? '';
  if (!/^[A-Za-z0-9][A-Za-z0-9._:@~-]{0,199}$/.test(channel)) problems.push('CONNECTOR_CHANNEL is required: the ledger channel to mirror');
  const sasl = env.KAFKA_SASL_MECHANISM?.toLowerCase();
  if (sasl && !['plain', 'scram-sha-256', 'scram-sha-512'].includes(sasl)) problems.push('KAFKA_SASL_MECHANISM must be plain, scram-sha-256 or scram-sha-512');
  const rate = Number(env.MARKETPLACE_REQUESTS_PER_SECOND ?? 5);
  if (!(rate > 0)) problems.push('MARKETPLACE_REQUESTS_PER_SECOND must be a number above 0');
  if (problems.length > 0) throw new Error(`invalid connector configuration:\n  - ${problems.join('\n  - ')}`);
  const number = (name: string) => (env[name] ? Number(env[name]) : undefined);
  return {
    channel,
    kafka: {
      clientId: env.KAFKA_CLIENT_ID || `inventory-connector-${channel}`,
      brokers,
      ssl: env.KAFKA_SSL === 'true' || undefined,
      sasl: sasl
        ? { mechanism: sasl as 'plain', username: env.KAFKA_SASL_USERNAME ?? '', password: env.KAFKA_SASL_PASSWORD ?? '' }
        : undefined,
      // The connector only consumes; these matter for its producer only against the mock cluster.
      idempotent: env.KAFKA_IDEMPOTENT_PRODUCER !== 'false',
      allowAutoTopicCreation: env.KAFKA_ALLOW_AUTO_TOPIC_CREATION === 'true',
      logLevel: 'warn',
      consumer: {
        sessionTimeoutMs: number('KAFKA_SESSION_TIMEOUT_MS'),
        heartbeatIntervalMs: number('KAFKA_HEARTBEAT_INTERVAL_MS'),
        maxWaitTimeMs: number('KAFKA_MAX_WAIT_TIME_MS'),
      },
    },
    topicPrefix: env.KAFKA_TOPIC_PREFIX ?? '',
    groupId: env.CONNECTOR_GROUP_ID || `inventory-connector.${channel}`,
    ledgerUrl: env.LEDGER_URL || null,
    ledgerToken: env.LEDGER_TOKEN || null,
    marketplace: env.MARKETPLACE_URL ? { url: env.MARKETPLACE_URL, token: env.MARKETPLACE_TOKEN ?? '', requestsPerSecond: rate } : null,
  };
}
