import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { Admin, ITopicConfig } from 'kafkajs';
import { topicNames, TOPIC_BASE_NAMES, type TopicNames } from '@ledger/bus';
import { KAFKA_TOPICS_TOOL, kafkaToolEnv } from '../kafka-broker';

/** deploy/kafka/topics.txt: the topics' settings, read by create-topics.sh and by these tests. */
export const TOPICS_FILE = join(__dirname, '..', '..', '..', 'deploy', 'kafka', 'topics.txt');
export const CREATE_TOPICS_SCRIPT = join(__dirname, '..', '..', '..', 'deploy', 'kafka', 'create-topics.sh');

export interface TopicSettings {
  replicationFactor: number;
  /** Per base name (e.g. `inventory.availability.v1`): every `--config`, the `*` line's included. */
  configs: Record<string, Record<string, string>>;
}

/** Parses topics.txt the way create-topics.sh does. */
export function readTopicSettings(): TopicSettings {
  let replicationFactor = 3;
  let common: Record<string, string> = {};
  const configs: Record<string, Record<string, string>> = {};
  for (const line of readFileSync(TOPICS_FILE, 'utf8').split('\n')) {
    const [name, ...settings] = line.trim().split(/\s+/);
    if (!name || name.startsWith('#')) continue;
    const parsed: Record<string, string> = {};
    for (const setting of settings) {
      const at = setting.indexOf('=');
      if (at <= 0) throw new Error(`${TOPICS_FILE}: "${setting}" is not name=value`);
      const [key, value] = [setting.slice(0, at), setting.slice(at + 1)];
      if (key === 'replication.factor') replicationFactor = Number(value);
      else parsed[key] = value;
    }
    if (name === '*') common = parsed;
    else configs[name] = { ...common, ...parsed };
  }
  const missing = Object.values(TOPIC_BASE_NAMES).filter((base) => !configs[base]);
  if (missing.length) throw new Error(`${TOPICS_FILE} lacks ${missing.join(', ')}`);
  return { replicationFactor, configs };
}

export interface CreateLedgerTopicsOptions {
  prefix: string;
  partitions: number;
  /** Fewer than three brokers: what the cluster can hold (create-topics.sh's REPLICATION_FACTOR). */
  replicationFactor?: number;
  /** create-topics.sh's MIN_INSYNC_REPLICAS. */
  minInsyncReplicas?: number;
  /** Settings a test changes on top, per base name (say, a short segment.ms to see compaction). */
  overrides?: Partial<Record<string, Record<string, string>>>;
}

/** The same topics create-topics.sh makes, with the same settings, through the admin API. */
export async function createLedgerTopics(admin: Admin, options: CreateLedgerTopicsOptions): Promise<TopicNames> {
  const settings = readTopicSettings();
  const names = topicNames(options.prefix);
  const topics: ITopicConfig[] = Object.values(TOPIC_BASE_NAMES).map((base) => {
    const configs: Record<string, string> = { ...settings.configs[base], ...options.overrides?.[base] };
    if (options.minInsyncReplicas !== undefined) configs['min.insync.replicas'] = String(options.minInsyncReplicas);
    return {
      topic: `${options.prefix}${base}`,
      numPartitions: options.partitions,
      replicationFactor: options.replicationFactor ?? settings.replicationFactor,
      configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
    };
  });
  await admin.createTopics({ topics, waitForLeaders: true });
  return names;
}

/**
 * Runs deploy/kafka/create-topics.sh itself, with kafka-topics.sh from the test broker's jars: the
 * production script, checked on a real broker.
 */
export async function runCreateTopicsScript(brokers: string[], options: Omit<CreateLedgerTopicsOptions, 'overrides'>): Promise<string> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...kafkaToolEnv(),
    BOOTSTRAP_SERVERS: brokers.join(','),
    TOPIC_PREFIX: options.prefix,
    PARTITIONS: String(options.partitions),
    KAFKA_TOPICS: KAFKA_TOPICS_TOOL,
    ...(options.replicationFactor === undefined ? {} : { REPLICATION_FACTOR: String(options.replicationFactor) }),
    ...(options.minInsyncReplicas === undefined ? {} : { MIN_INSYNC_REPLICAS: String(options.minInsyncReplicas) }),
  };
  const { stdout } = await promisify(execFile)('bash', [CREATE_TOPICS_SCRIPT], { env, timeout: 120_000 });
  return stdout;
}
