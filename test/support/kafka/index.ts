import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { KafkaBusConfig, TopicNames } from '@ledger/bus';
import { topicNames } from '@ledger/bus';
import { kafkaBrokerSupport, startKafkaCluster, type KafkaCluster } from '../kafka-broker';
import { kafkaMockAvailable, kafkaMockVersion, startKafkaMock } from '../kafka-mock';
import { pythonWithLibrdkafka, startControllableKafka } from '../kafka-mock/controllable';
import { createLedgerTopics } from './topics';

/**
 * The Kafka a test suite runs on, chosen in this order:
 * - `external`: the cluster named by KAFKA_BROKERS (run the suites against any Kafka);
 * - `broker`: Apache Kafka's own broker started here (test/support/kafka-broker: a JDK and the jars);
 * - `mock`: librdkafka's mock cluster (Debian's python3-confluent-kafka), which can do less.
 * TEST_KAFKA=broker or TEST_KAFKA=mock forces one of the last two. A suite skips, saying why, only
 * when none of them can run what it needs.
 */
export type TestKafkaKind = 'external' | 'broker' | 'mock';

export interface TestKafkaNeeds {
  /** Nodes of a real cluster (default 1); more than one is never the mock. */
  nodes?: number;
  /** The suite stops and restarts brokers: a broker it started, or the mock, never KAFKA_BROKERS. */
  outage?: boolean;
  /** What the suite needs that the mock cannot do (the idempotent producer, compaction...), for the skip reason. */
  realKafka?: string;
}

export interface TestKafka {
  kind: TestKafkaKind;
  /** Which Kafka and version, for test output. */
  label: string;
  brokers: string[];
  /** The service's production defaults hold: the idempotent producer on, automatic topic creation off. */
  production: boolean;
  /** For a KafkaBus on this Kafka: its defaults where they work, short group timings. */
  busConfig: Pick<KafkaBusConfig, 'brokers' | 'idempotent' | 'allowAutoTopicCreation' | 'consumer'>;
  /** kafkajs consumer settings of the same timings, for probes. */
  consumerTiming: { sessionTimeout: number; heartbeatInterval: number; maxWaitTimeInMs: number };
  /** The service's KAFKA_* environment on this Kafka, under a topic prefix. */
  appEnv(prefix: string): Record<string, string>;
  /** A kafkajs client for probes and producers of the test itself. */
  client(clientId: string): Kafka;
  /**
   * The ledger's topics under a prefix, with deploy/kafka/topics.txt's settings (replication and
   * min.insync.replicas bounded by the brokers there are). The mock creates topics on first use.
   */
  createLedgerTopics(prefix: string, overrides?: Partial<Record<string, Record<string, string>>>): Promise<TopicNames>;
  /** Plain topics (delete policy) for tests that make up their own names. */
  createTopics(names: string[]): Promise<void>;
  /** Topic partitions the tests create (the mock: 4, its fixed number). */
  partitions: number;
  /** The brokers this suite started, to kill and restart one (kind `broker` only). */
  cluster: KafkaCluster | null;
  /** Every broker down (connections refused), then up again with its data; null on KAFKA_BROKERS. */
  outage: { down(): Promise<void>; up(): Promise<void> } | null;
  stop(): Promise<void>;
}

type Choice = { kind: TestKafkaKind; label: string } | { skip: string };

const TEST_PARTITIONS = 3;
const MOCK_PARTITIONS = 4;

export function chooseTestKafka(needs: TestKafkaNeeds = {}): Choice {
  const nodes = needs.nodes ?? 1;
  const forced = process.env.TEST_KAFKA;
  const external = process.env.KAFKA_BROKERS;
  if (external && !forced) {
    if (needs.outage) return { skip: `KAFKA_BROKERS is set, and this suite stops brokers, which it does only to brokers it started (unset KAFKA_BROKERS to run it)` };
    return { kind: 'external', label: `the Kafka at KAFKA_BROKERS=${external}` };
  }
  const broker = kafkaBrokerSupport();
  if (forced !== 'mock' && broker.available) {
    return { kind: 'broker', label: `Apache Kafka ${broker.version}, a real broker (KRaft, ${nodes} node${nodes === 1 ? '' : 's'})` };
  }
  const noBroker = forced === 'mock' || broker.available ? 'TEST_KAFKA=mock' : broker.reason;
  if (forced === 'broker') return { skip: `TEST_KAFKA=broker, but no broker can run here: ${noBroker}` };
  if (needs.realKafka || nodes > 1) {
    return { skip: `${needs.realKafka ?? `it needs ${nodes} real brokers`}, which librdkafka's mock cannot give, and no real broker can run here: ${noBroker}` };
  }
  const mockRuns = needs.outage ? pythonWithLibrdkafka() !== null : kafkaMockAvailable();
  if (!mockRuns) return { skip: `no real broker (${noBroker}) and no librdkafka mock cluster (apt-get install python3-confluent-kafka)` };
  return { kind: 'mock', label: `librdkafka ${kafkaMockVersion()}'s mock cluster, not a real broker (${noBroker})` };
}

/**
 * A describe block with a Kafka started once for it (or KAFKA_BROKERS); its title and a console line
 * name which Kafka it ran on. Skipped, with the reason printed, only when none can run here.
 */
export function describeWithKafka(title: string, needs: TestKafkaNeeds, define: (kafka: () => TestKafka, kind: TestKafkaKind) => void): void {
  const choice = chooseTestKafka(needs);
  if ('skip' in choice) {
    console.warn(`Skipping "${title}": ${choice.skip}`);
    // Skipped on purpose, reason printed above: nothing here can run a Kafka this suite can use.
    describe.skip(title, () => it('runs on Kafka', () => undefined));
    return;
  }
  describe(`${title} (on ${choice.label})`, () => {
    let kafka: TestKafka | undefined;
    beforeAll(async () => {
      kafka = await startTestKafka(choice.kind, needs);
      console.info(`"${title}" runs on ${kafka.label}: ${kafka.brokers.join(',')}`);
    }, 120_000);
    afterAll(async () => kafka?.stop(), 60_000);
    define(() => {
      if (!kafka) throw new Error('Kafka is not running');
      return kafka;
    }, choice.kind);
  });
}

type TestDefinition = (name: string, fn: jest.ProvidesCallback, timeout?: number) => void;

/**
 * `it` for what librdkafka's mock cannot do (compaction, the idempotent producer, transactions):
 * on the mock the test is skipped, and the output says why.
 */
export function itOnRealKafka(kind: TestKafkaKind, mockLacks: string): TestDefinition {
  if (kind !== 'mock') return it;
  return (name) => {
    console.warn(`Skipping "${name}": librdkafka's mock cluster has no ${mockLacks}, and no real broker runs here`);
    // Skipped on purpose, reason printed above.
    it.skip(name, () => undefined);
  };
}

async function startTestKafka(kind: TestKafkaKind, needs: TestKafkaNeeds): Promise<TestKafka> {
  if (kind === 'mock') {
    const label = `librdkafka ${kafkaMockVersion()}'s mock cluster`;
    if (needs.outage) {
      const mock = await startControllableKafka();
      return testKafka({ kind, label, brokers: mock.brokers, cluster: null, outage: { down: () => mock.down(), up: () => mock.up() }, stop: () => mock.stop() });
    }
    const mock = await startKafkaMock();
    return testKafka({ kind, label, brokers: mock.brokers, cluster: null, outage: null, stop: () => mock.stop() });
  }
  if (kind === 'external') {
    return testKafka({ kind, label: `the Kafka at KAFKA_BROKERS`, brokers: process.env.KAFKA_BROKERS!.split(',').map((broker) => broker.trim()), cluster: null, outage: null, stop: async () => undefined });
  }
  const cluster = await startKafkaCluster({ nodes: needs.nodes ?? 1 });
  const all = cluster.nodes.map((node) => node.id);
  return testKafka({
    kind,
    label: cluster.label,
    brokers: cluster.brokers,
    cluster,
    outage: {
      down: async () => {
        await Promise.all(all.map((id) => cluster.kill(id)));
      },
      up: async () => {
        await Promise.all(all.map((id) => cluster.start(id)));
      },
    },
    stop: () => cluster.shutdown(),
  });
}

interface Parts {
  kind: TestKafkaKind;
  label: string;
  brokers: string[];
  cluster: KafkaCluster | null;
  outage: TestKafka['outage'];
  stop(): Promise<void>;
}

function testKafka(parts: Parts): TestKafka {
  const mock = parts.kind === 'mock';
  // A broker's group.min.session.timeout.ms is 6 s by default; ours and the mock accept shorter.
  const sessionTimeout = parts.kind === 'external' ? 6_000 : 3_000;
  const consumerTiming = { sessionTimeout, heartbeatInterval: 300, maxWaitTimeInMs: 100 };
  const client = (clientId: string) => new Kafka({ clientId, brokers: parts.brokers, logLevel: logLevel.NOTHING, retry: { retries: 20, maxRetryTime: 2_000 } });
  let admin: Admin | null = null;
  const connectedAdmin = async () => {
    if (!admin) {
      admin = client('test-admin').admin();
      await admin.connect();
    }
    return admin;
  };
  return {
    ...parts,
    production: !mock,
    consumerTiming,
    busConfig: {
      brokers: parts.brokers,
      // The mock can do neither; everywhere else the production defaults (on, off) hold.
      idempotent: !mock,
      allowAutoTopicCreation: mock,
      consumer: { sessionTimeoutMs: sessionTimeout, heartbeatIntervalMs: 300, maxWaitTimeMs: 100 },
    },
    appEnv: (prefix) => ({
      KAFKA_BROKERS: parts.brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_SESSION_TIMEOUT_MS: String(sessionTimeout),
      KAFKA_HEARTBEAT_INTERVAL_MS: '300',
      KAFKA_MAX_WAIT_TIME_MS: '100',
      ...(mock ? { KAFKA_IDEMPOTENT_PRODUCER: 'false', KAFKA_ALLOW_AUTO_TOPIC_CREATION: 'true' } : {}),
    }),
    client,
    partitions: mock ? MOCK_PARTITIONS : TEST_PARTITIONS,
    async createLedgerTopics(prefix, overrides) {
      if (mock) return topicNames(prefix);
      const kafkaAdmin = await connectedAdmin();
      const brokers = (await kafkaAdmin.describeCluster()).brokers.length;
      return createLedgerTopics(kafkaAdmin, {
        prefix,
        partitions: TEST_PARTITIONS,
        replicationFactor: Math.min(3, brokers),
        minInsyncReplicas: Math.min(2, brokers),
        overrides,
      });
    },
    async createTopics(names) {
      if (mock) return;
      const kafkaAdmin = await connectedAdmin();
      const replicationFactor = Math.min(3, (await kafkaAdmin.describeCluster()).brokers.length);
      await kafkaAdmin.createTopics({ waitForLeaders: true, topics: names.map((topic) => ({ topic, numPartitions: TEST_PARTITIONS, replicationFactor })) });
    },
    async stop() {
      await (admin as Admin | null)?.disconnect().catch(() => undefined);
      await parts.stop();
    },
  };
}
