import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';

export type Role = 'ops' | 'service' | 'auditor';
export const ROLES: readonly Role[] = ['ops', 'service', 'auditor'];

export interface ApiToken {
  role: Role;
  token: string;
  /**
   * What metadata records as the actor: the name given in the JSON form, else the role and a short
   * fingerprint of the token (see tokenName), so reordering the list never renames anyone.
   */
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

export interface LoadConfigOptions {
  /**
   * Check that LEDGER_DATA_DIR can be created and written (the service writes its read models there
   * even on EventStoreDB). The auditors' CLI only reads, so it turns this off. Default true.
   */
  writableDataDir?: boolean;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, { writableDataDir = true }: LoadConfigOptions = {}): LedgerConfig {
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
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    problems.push(`${name} must be true or false, got "${raw}"`);
    return fallback;
  };
  const apiTokens = parseTokens(env.LEDGER_API_TOKENS ?? '', problems);
  const dataDir = resolve(env.LEDGER_DATA_DIR || './data');
  if (writableDataDir) checkWritable(dataDir, problems);
  const host = env.HOST?.trim();
  if (host && !isListenAddress(host)) problems.push(`HOST must be an IP address (such as 127.0.0.1, 0.0.0.0 or ::) or a host name, got "${env.HOST}"`);
  const kafkaFlags = {
    idempotentProducer: bool('KAFKA_IDEMPOTENT_PRODUCER', true),
    allowAutoTopicCreation: bool('KAFKA_ALLOW_AUTO_TOPIC_CREATION', false),
    ssl: bool('KAFKA_SSL', false),
  };
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
    host: host || (apiTokens.length > 0 ? '0.0.0.0' : '127.0.0.1'),
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
            ...kafkaFlags,
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

/**
 * LEDGER_API_TOKENS, in either form:
 * - a JSON list `[{"name": "erp", "role": "service", "token": "..."}]`: names are chosen, and tokens
 *   may hold any character but whitespace (`:` and `,` included);
 * - `role:token` pairs, comma separated: each is named by tokenName (role and fingerprint).
 * A token shorter than 16 characters is refused as guessable; a token or name given twice is refused.
 */
function parseTokens(raw: string, problems: string[]): ApiToken[] {
  const trimmed = raw.trim();
  const tokens = /^[[{]/.test(trimmed) ? parseTokenList(trimmed, problems) : parseTokenPairs(trimmed, problems);
  const names = new Set<string>();
  const secrets = new Set<string>();
  for (const { name, token } of tokens) {
    if (names.has(name)) problems.push(`LEDGER_API_TOKENS: the name "${name}" is given to more than one token`);
    // Never echo a token: say which entry it is by name.
    if (secrets.has(token)) problems.push(`LEDGER_API_TOKENS: the token of "${name}" is listed twice`);
    names.add(name);
    secrets.add(token);
  }
  return tokens;
}

const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@~-]{0,63}$/;

function parseTokenList(raw: string, problems: string[]): ApiToken[] {
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    problems.push('LEDGER_API_TOKENS: looks like JSON but is not valid JSON (expected [{"name", "role", "token"}, ...])');
    return [];
  }
  if (!Array.isArray(list)) {
    problems.push('LEDGER_API_TOKENS: the JSON form is a list: [{"name", "role", "token"}, ...]');
    return [];
  }
  const tokens: ApiToken[] = [];
  list.forEach((entry: unknown, index) => {
    const where = `LEDGER_API_TOKENS[${index}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`${where}: each entry is an object {"name", "role", "token"}`);
      return;
    }
    const { name, role, token } = entry as Record<string, unknown>;
    const before = problems.length;
    if (typeof name !== 'string' || !TOKEN_NAME.test(name)) {
      problems.push(`${where}: "name" must be 1 to 64 letters, digits or . _ @ ~ - (starting with a letter or digit)`);
    }
    if (!ROLES.includes(role as Role)) problems.push(`${where}: "role" must be one of ${ROLES.join(', ')}`);
    if (typeof token !== 'string' || token.length < 16 || /\s/.test(token)) {
      problems.push(`${where}: "token" must be at least 16 characters, without whitespace`);
    }
    if (problems.length === before) tokens.push({ name: name as string, role: role as Role, token: token as string });
  });
  return tokens;
}

function parseTokenPairs(raw: string, problems: string[]): ApiToken[] {
  const tokens: ApiToken[] = [];
  for (const pair of raw.split(',').map((part) => part.trim()).filter(Boolean)) {
    const separator = pair.indexOf(':');
    const role = pair.slice(0, separator) as Role;
    const token = pair.slice(separator + 1);
    if (separator < 0 || !ROLES.includes(role)) {
      problems.push(`LEDGER_API_TOKENS: each entry is role:token with role one of ${ROLES.join(', ')} (or use the JSON list form)`);
    } else if (token.length < 16 || /\s/.test(token)) {
      problems.push(`LEDGER_API_TOKENS: the ${role} token must be at least 16 characters, without whitespace`);
    } else {
      tokens.push({ role, token, name: tokenName(role, token) });
    }
  }
  return tokens;
}

/**
 * The actor name of a `role:token` entry: the role and the first 8 hex digits of a sha-256 of the
 * token (e.g. `service-3fa94c1e`). It depends on the token alone, so reordering or extending the list
 * renames nobody, and it gives nothing usable away: 32 bits of a hash of a 16+ character secret.
 */
export function tokenName(role: Role, token: string): string {
  return `${role}-${createHash('sha256').update(`inventory-ledger token name\0${token}`).digest('hex').slice(0, 8)}`;
}

function isListenAddress(host: string): boolean {
  if (isIP(host) !== 0) return true;
  // Digits and dots only but not an IPv4 address (999.1.1.1, 10.0.0): a mistyped address, not a name.
  if (/^[\d.]+$/.test(host)) return false;
  return host.length <= 253 && host.split('.').every((label) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label));
}

/** Creates the directory if need be and writes a probe file in it, so a read-only mount stops the start. */
function checkWritable(dir: string, problems: string[]): void {
  const probe = join(dir, `.write-check-${randomUUID()}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (error) {
    problems.push(`LEDGER_DATA_DIR must be a directory the service can write (${dir}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

export const LEDGER_CONFIG = Symbol('LEDGER_CONFIG');
