import { join, resolve } from 'node:path';

export type Role = 'ops' | 'service' | 'auditor';
export const ROLES: readonly Role[] = ['ops', 'service', 'auditor'];

export interface ApiToken {
  role: Role;
  token: string;
  /** What metadata records as the actor: the role and a short, non-secret fingerprint of the token. */
  name: string;
}

export type EventStoreConfig =
  | { kind: 'sqlite'; path: string }
  | { kind: 'esdb'; connectionString: string };

export interface KafkaConfig {
  brokers: string[];
  clientId: string;
  groupId: string;
  topicPrefix: string;
  idempotentProducer: boolean;
  allowAutoTopicCreation: boolean;
  /** KAFKA_SSL=true: TLS with the system's CAs. */
  ssl: boolean;
  /** KAFKA_SASL_MECHANISM (plain, scram-sha-256, scram-sha-512) with KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD. */
  sasl: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | null;
  /** Consumer group timing (KAFKA_SESSION_TIMEOUT_MS, KAFKA_HEARTBEAT_INTERVAL_MS, KAFKA_MAX_WAIT_TIME_MS); kafkajs defaults when absent. */
  consumer: { sessionTimeoutMs?: number; heartbeatIntervalMs?: number; maxWaitTimeMs?: number };
}

/** Everything the service reads from its environment, checked once at start. */
export interface LedgerConfig {
  host: string;
  port: number;
  dataDir: string;
  apiTokens: ApiToken[];
  eventStore: EventStoreConfig;
  kafka: KafkaConfig | null;
  /** Default hold time when a reservation names none. */
  reservationTtlSeconds: number;
  sweepIntervalMs: number;
  bodyLimitBytes: number;
  logLevel: 'error' | 'warn' | 'log' | 'debug';
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): LedgerConfig {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };
  const apiTokens = parseTokens(env.LEDGER_API_TOKENS ?? '', problems);
  const dataDir = resolve(env.LEDGER_DATA_DIR || './data');
  const esdb = env.EVENTSTORE_CONNECTION_STRING?.trim();
  if (esdb && !/^(esdb|esdb\+discover|kurrentdb|kurrentdb\+discover|kdb|kdb\+discover):\/\//.test(esdb)) {
    problems.push('EVENTSTORE_CONNECTION_STRING must start with esdb:// or esdb+discover://');
  }
  const brokers = (env.KAFKA_BROKERS ?? '').split(',').map((broker) => broker.trim()).filter(Boolean);
  const saslMechanism = env.KAFKA_SASL_MECHANISM?.trim().toLowerCase();
  if (saslMechanism && !['plain', 'scram-sha-256', 'scram-sha-512'].includes(saslMechanism)) {
    problems.push('KAFKA_SASL_MECHANISM must be plain, scram-sha-256 or scram-sha-512');
  }
  if (saslMechanism && (!env.KAFKA_SASL_USERNAME || !env.KAFKA_SASL_PASSWORD)) {
    problems.push('KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD');
  }
  const optionalInt = (name: string, min: number, max: number): number | undefined => (env[name] ? int(name, min, min, max) : undefined);
  const logLevel = (env.LOG_LEVEL ?? 'log') as LedgerConfig['logLevel'];
  if (!['error', 'warn', 'log', 'debug'].includes(logLevel)) problems.push('LOG_LEVEL must be error, warn, log or debug');
  const config: LedgerConfig = {
    // Without tokens anyone who can reach the port could move stock, so listen on loopback only.
    host: env.HOST || (apiTokens.length > 0 ? '0.0.0.0' : '127.0.0.1'),
    port: int('PORT', 3000, 0, 65_535),
    dataDir,
    apiTokens,
    eventStore: esdb ? { kind: 'esdb', connectionString: esdb } : { kind: 'sqlite', path: join(dataDir, 'ledger.db') },
    kafka:
      brokers.length > 0
        ? {
            brokers,
            clientId: env.KAFKA_CLIENT_ID || 'inventory-ledger',
            groupId: env.KAFKA_GROUP_ID || 'inventory-ledger',
            topicPrefix: env.KAFKA_TOPIC_PREFIX ?? '',
            idempotentProducer: env.KAFKA_IDEMPOTENT_PRODUCER !== 'false',
            allowAutoTopicCreation: env.KAFKA_ALLOW_AUTO_TOPIC_CREATION === 'true',
            ssl: env.KAFKA_SSL === 'true',
            sasl: saslMechanism
              ? {
                  mechanism: saslMechanism as NonNullable<KafkaConfig['sasl']>['mechanism'],
                  username: env.KAFKA_SASL_USERNAME ?? '',
                  password: env.KAFKA_SASL_PASSWORD ?? '',
                }
              : null,
            consumer: {
              sessionTimeoutMs: optionalInt('KAFKA_SESSION_TIMEOUT_MS', 1_000, 3_600_000),
              heartbeatIntervalMs: optionalInt('KAFKA_HEARTBEAT_INTERVAL_MS', 100, 600_000),
              maxWaitTimeMs: optionalInt('KAFKA_MAX_WAIT_TIME_MS', 10, 60_000),
            },
          }
        : null,
    reservationTtlSeconds: int('LEDGER_RESERVATION_TTL_SECONDS', 900, 1, 604_800),
    sweepIntervalMs: int('LEDGER_SWEEP_INTERVAL_MS', 5_000, 50, 3_600_000),
    bodyLimitBytes: int('LEDGER_BODY_LIMIT_BYTES', 64 * 1024, 1024, 10 * 1024 * 1024),
    logLevel,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** `role:token` pairs, comma separated. A token shorter than 16 characters is refused as guessable. */
function parseTokens(raw: string, problems: string[]): ApiToken[] {
  const tokens: ApiToken[] = [];
  for (const pair of raw.split(',').map((part) => part.trim()).filter(Boolean)) {
    const separator = pair.indexOf(':');
    const role = pair.slice(0, separator) as Role;
    const token = pair.slice(separator + 1);
    if (separator < 0 || !ROLES.includes(role)) {
      problems.push(`LEDGER_API_TOKENS: each entry is role:token with role one of ${ROLES.join(', ')}`);
    } else if (token.length < 16) {
      problems.push(`LEDGER_API_TOKENS: the ${role} token must be at least 16 characters`);
    } else {
      tokens.push({ role, token, name: `${role}-${tokens.filter((t) => t.role === role).length + 1}` });
    }
  }
  return tokens;
}

export const LEDGER_CONFIG = Symbol('LEDGER_CONFIG');
