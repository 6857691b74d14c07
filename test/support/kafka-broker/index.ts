import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';

/**
 * Apache Kafka's own broker on loopback for the tests: KRaft, each node a combined broker and
 * controller, from the jars `pom.xml` copies into `lib/`. See README.md beside this file.
 */

const HERE = __dirname;
/** Where `mvn dependency:copy-dependencies` puts the jars (KAFKA_BROKER_LIB names another folder). */
export const KAFKA_BROKER_LIB = process.env.KAFKA_BROKER_LIB || join(HERE, 'lib');
const LOG4J_CONFIG = join(HERE, 'log4j2.properties');
const FETCH_HINT = 'npm run kafka:fetch (Maven: test/support/kafka-broker/pom.xml)';

export type BrokerSupport = { available: true; version: string; java: string } | { available: false; reason: string };

let support: BrokerSupport | undefined;

/** Whether a real broker can run here (a Java 17+ runtime and the jars), and which version. */
export function kafkaBrokerSupport(): BrokerSupport {
  support ??= detectSupport();
  return support;
}

function javaBinary(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

function detectSupport(): BrokerSupport {
  const java = javaBinary();
  const probe = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    return { available: false, reason: `no Java runtime (${java}: ${probe.error?.message ?? `exit code ${probe.status}`}); Kafka 4 needs Java 17+` };
  }
  const major = Number(/version "(\d+)/.exec(probe.stderr)?.[1] ?? 0);
  if (major < 17) return { available: false, reason: `${java} is Java ${major}; Kafka 4 needs Java 17+` };
  const jars = existsSync(KAFKA_BROKER_LIB) ? readdirSync(KAFKA_BROKER_LIB) : [];
  const brokerJars = jars.filter((name) => /^kafka_2\.13-.+\.jar$/.test(name));
  if (brokerJars.length === 0) return { available: false, reason: `no Kafka broker jars in ${KAFKA_BROKER_LIB} (${FETCH_HINT})` };
  if (brokerJars.length > 1) return { available: false, reason: `several Kafka versions in ${KAFKA_BROKER_LIB} (${brokerJars.join(', ')}): ${FETCH_HINT} fetches one afresh` };
  return { available: true, version: /^kafka_2\.13-(.+)\.jar$/.exec(brokerJars[0])![1], java };
}

export interface KafkaClusterOptions {
  /** Combined broker + controller nodes; 1 (default) or 3 for replication 3 and min.insync.replicas=2. */
  nodes?: number;
  /** Heap of each node's JVM; default 384 MB for one node, 320 MB each for more. */
  heapMb?: number;
  /** Broker settings on top of the test defaults (BASE_CONFIG below). */
  config?: Record<string, string | number>;
  /** How long to wait for the cluster to serve; default 60 s (slow machines, first start). */
  startTimeoutMs?: number;
}

export interface KafkaNode {
  id: number;
  /** `127.0.0.1:<port>`: the client listener. */
  address: string;
  port: number;
  controllerPort: number;
  /** Holds `data/` (the log dir), `server.properties` and `broker.log`. */
  dir: string;
  readonly running: boolean;
}

export interface KafkaCluster {
  /** The broker version, e.g. `4.4.0`. */
  version: string;
  nodes: KafkaNode[];
  /** Every node's address, down or not: clients find the live ones. */
  brokers: string[];
  /** One line for test output: `Apache Kafka 4.4.0, 3 nodes (KRaft)`. */
  label: string;
  /** The JVM dies at once (SIGKILL): no controlled shutdown, nothing flushed but what the OS has. */
  kill(nodeId: number): Promise<void>;
  /** Controlled shutdown (SIGTERM), SIGKILL after `graceMs`. */
  stop(nodeId: number, graceMs?: number): Promise<void>;
  /** Starts a stopped node again on its ports and log dir; resolves once the cluster lists it. */
  start(nodeId: number): Promise<void>;
  /** Resolves once `count` brokers (default: every running node) are in the cluster's metadata. */
  waitForBrokers(count?: number, timeoutMs?: number): Promise<void>;
  /** Stops every node (SIGTERM, SIGKILL after `graceMs`) and deletes their directories. */
  shutdown(graceMs?: number): Promise<void>;
}

/**
 * Test defaults: production's stance where it matters to the code under test (no automatic topic
 * creation), and whatever makes a small broker start and react fast on a busy two-core machine.
 */
function baseConfig(nodes: number): Record<string, string | number> {
  const replication = Math.min(3, nodes);
  const minInsync = Math.min(2, nodes);
  return {
    'process.roles': 'broker,controller',
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    // As in production: topics come from deploy/kafka's settings, a mistyped name is an error.
    'auto.create.topics.enable': 'false',
    'default.replication.factor': replication,
    'min.insync.replicas': minInsync,
    'offsets.topic.replication.factor': replication,
    'offsets.topic.num.partitions': 4,
    'transaction.state.log.replication.factor': replication,
    'transaction.state.log.min.isr': minInsync,
    'transaction.state.log.num.partitions': 4,
    'share.coordinator.state.topic.replication.factor': replication,
    'share.coordinator.state.topic.min.isr': minInsync,
    // Groups form at once, and tests may use session timeouts of a few seconds.
    'group.initial.rebalance.delay.ms': 0,
    'group.min.session.timeout.ms': 1000,
    // A dead node is noticed in seconds rather than half a minute.
    'broker.session.timeout.ms': 4000,
    'broker.heartbeat.interval.ms': 500,
    'replica.lag.time.max.ms': 5000,
    // Small segments, and a cleaner that looks often: compaction shows within a test.
    'log.segment.bytes': 1048576,
    'log.cleaner.backoff.ms': 250,
    'log.cleaner.dedupe.buffer.size': 8388608,
    'log.initial.task.delay.ms': 1000,
    'num.network.threads': 2,
    'num.io.threads': 2,
    'num.replica.fetchers': 1,
    'background.threads': 2,
    'num.recovery.threads.per.data.dir': 1,
  };
}

const JVM_FLAGS = [
  '-Xms64m',
  '-XX:+UseSerialGC',
  // C1 only: a test broker never runs long enough for C2 to pay back its compile time.
  '-XX:TieredStopAtLevel=1',
  '-XX:-UsePerfData',
  '-XX:+ExitOnOutOfMemoryError',
  '-Djava.awt.headless=true',
  `-Dlog4j2.configurationFile=${LOG4J_CONFIG}`,
];

/** Starts a KRaft cluster of combined nodes on free loopback ports and waits until it serves. */
export async function startKafkaCluster(options: KafkaClusterOptions = {}): Promise<KafkaCluster> {
  const found = kafkaBrokerSupport();
  if (!found.available) throw new Error(`Cannot start a Kafka broker: ${found.reason}`);
  const count = options.nodes ?? 1;
  const heapMb = options.heapMb ?? Number(process.env.KAFKA_BROKER_HEAP_MB || (count === 1 ? 384 : 320));
  const root = mkdtempSync(join(tmpdir(), 'kafka-test-'));
  const ports = await freePorts(count * 2);
  const nodes = Array.from({ length: count }, (_, index) => new BrokerProcess(index + 1, ports[index * 2], ports[index * 2 + 1], join(root, `node-${index + 1}`), found.java, heapMb));
  const voters = nodes.map((node) => `${node.id}@127.0.0.1:${node.controllerPort}`).join(',');
  const clusterId = newClusterId();
  const config = { ...baseConfig(count), ...options.config };
  const timeoutMs = options.startTimeoutMs ?? 60_000;

  const cluster: KafkaCluster = {
    version: found.version,
    nodes,
    brokers: nodes.map((node) => node.address),
    label: `Apache Kafka ${found.version}, ${count} node${count === 1 ? '' : 's'} (KRaft)`,
    kill: (nodeId) => nodeById(nodeId).kill(),
    stop: (nodeId, graceMs) => nodeById(nodeId).stop(graceMs),
    async start(nodeId) {
      const node = nodeById(nodeId);
      node.start();
      await waitForBrokers(nodes, nodes.filter((other) => other.running).length, timeoutMs, node);
    },
    waitForBrokers: (wanted, waitMs) => waitForBrokers(nodes, wanted ?? nodes.filter((node) => node.running).length, waitMs ?? timeoutMs),
    async shutdown(graceMs = 5_000) {
      await Promise.all(nodes.map((node) => node.stop(graceMs)));
      rmSync(root, { recursive: true, force: true });
    },
  };
  const nodeById = (nodeId: number) => {
    const node = nodes.find((candidate) => candidate.id === nodeId);
    if (!node) throw new Error(`no Kafka node ${nodeId} (nodes: ${nodes.map((candidate) => candidate.id).join(', ')})`);
    return node;
  };

  try {
    await Promise.all(nodes.map((node) => node.format(clusterId, { ...config, 'controller.quorum.voters': voters })));
    for (const node of nodes) node.start();
    await waitForBrokers(nodes, count, timeoutMs);
    await warmUpGroupCoordinator(cluster.brokers, timeoutMs);
  } catch (error) {
    await cluster.shutdown(0).catch(() => undefined);
    throw error;
  }
  return cluster;
}

class BrokerProcess implements KafkaNode {
  readonly address: string;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  /** Set once we sent SIGKILL: such an exit must not leave a class-data archive behind. */
  private killed = false;

  constructor(
    readonly id: number,
    readonly port: number,
    readonly controllerPort: number,
    readonly dir: string,
    private readonly java: string,
    private readonly heapMb: number,
  ) {
    this.address = `127.0.0.1:${port}`;
    mkdirSync(dir, { recursive: true });
  }

  get running(): boolean {
    return this.child !== null;
  }

  get logFile(): string {
    return join(this.dir, 'broker.log');
  }

  private get propertiesFile(): string {
    return join(this.dir, 'server.properties');
  }

  /** Writes server.properties and formats the log dir (kafka-storage.sh format). */
  async format(clusterId: string, config: Record<string, string | number>): Promise<void> {
    const properties = {
      ...config,
      'node.id': this.id,
      listeners: `PLAINTEXT://${this.address},CONTROLLER://127.0.0.1:${this.controllerPort}`,
      'advertised.listeners': `PLAINTEXT://${this.address}`,
      'log.dirs': join(this.dir, 'data'),
    };
    writeFileSync(this.propertiesFile, Object.entries(properties).map(([name, value]) => `${name}=${value}`).join('\n') + '\n');
    const args = [...this.jvmArgs(false), 'kafka.tools.StorageTool', 'format', '--cluster-id', clusterId, '--config', this.propertiesFile];
    const child = spawn(this.java, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`formatting Kafka node ${this.id}'s log dir failed (exit code ${code}):\n${output}`);
  }

  start(): void {
    if (this.child) return;
    const log = openSync(this.logFile, 'a');
    const archive = classDataArchive();
    const args = [...this.jvmArgs(true, archive), 'kafka.Kafka', this.propertiesFile];
    // setpriv --pdeathsig: the JVM dies with the test process, however that ends.
    const [command, commandArgs] = existsSync('/usr/bin/setpriv') ? ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', this.java, ...args]] : [this.java, args];
    const child = spawn(command, commandArgs, { stdio: ['ignore', log, log] });
    closeSync(log);
    this.child = child;
    this.killed = false;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        if (this.child === child) this.child = null;
        if (archive.creating) archive.done(!this.killed);
        resolve();
      });
    });
  }

  async kill(): Promise<void> {
    if (!this.child) return;
    this.killed = true;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (graceMs <= 0) return this.kill();
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      this.killed = true;
      child.kill('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** The last lines of broker.log, for an error message. */
  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no broker.log)';
    }
  }

  private jvmArgs(broker: boolean, archive: ClassDataArchive = classDataArchive(false)): string[] {
    const heap = broker ? this.heapMb : 128;
    return [`-Xmx${heap}m`, ...JVM_FLAGS, ...archive.flags, `-Dkafka.logs.dir=${this.dir}`, '-cp', join(KAFKA_BROKER_LIB, '*')];
  }
}

/**
 * For a Kafka command-line tool run from these jars (kafka-topics.sh beside this file): the Java
 * runtime, the jars and the class-data archive, as environment variables.
 */
export function kafkaToolEnv(): Record<string, string> {
  const found = kafkaBrokerSupport();
  if (!found.available) throw new Error(`Kafka's tools cannot run here: ${found.reason}`);
  return { JAVA: found.java, KAFKA_BROKER_LIB, KAFKA_BROKER_JVM_FLAGS: classDataArchive(false).flags.join(' ') };
}

export const KAFKA_TOPICS_TOOL = join(HERE, 'kafka-topics.sh');

interface ClassDataArchive {
  flags: string[];
  creating: boolean;
  done(keep: boolean): void;
}

let archiveInProgress = false;

/**
 * AppCDS: the classes a broker loads, dumped once at the exit of the first broker this machine runs
 * and mapped by every later JVM; it halves start-up (about 3 s to 1.3 s here). Kept in lib/, keyed by
 * the Java runtime and the jars, so another JDK or Kafka version makes a new one.
 */
function classDataArchive(mayCreate = true): ClassDataArchive {
  const path = join(KAFKA_BROKER_LIB, `.broker-classes-${archiveKey()}.jsa`);
  if (existsSync(path)) return { flags: [`-XX:SharedArchiveFile=${path}`, '-Xshare:auto'], creating: false, done: () => undefined };
  if (!mayCreate || archiveInProgress) return { flags: ['-Xshare:auto'], creating: false, done: () => undefined };
  archiveInProgress = true;
  const partial = `${path}.${process.pid}.partial`;
  return {
    flags: [`-XX:ArchiveClassesAtExit=${partial}`],
    creating: true,
    done(keep) {
      archiveInProgress = false;
      try {
        if (keep && existsSync(partial) && statSync(partial).size > 0) renameSync(partial, path);
      } finally {
        rmSync(partial, { force: true });
      }
    },
  };
}

let cachedArchiveKey: string | undefined;

function archiveKey(): string {
  if (cachedArchiveKey) return cachedArchiveKey;
  const hash = createHash('sha256');
  const java = javaBinary();
  const resolved = java.includes('/') ? java : (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, java)).find((candidate) => existsSync(candidate));
  if (resolved) {
    const real = realpathSync(resolved);
    hash.update(`${real}:${statSync(real).mtimeMs}`);
  }
  hash.update(readdirSync(KAFKA_BROKER_LIB).filter((name) => name.endsWith('.jar')).sort().join(','));
  cachedArchiveKey = hash.digest('hex').slice(0, 12);
  return cachedArchiveKey;
}

/** A KRaft cluster id: 16 random bytes in URL-safe base64, as `kafka-storage.sh random-uuid` prints. */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Loopback ports nobody listens on right now, all distinct. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = createServer();
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return server;
    }),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}

async function waitForBrokers(nodes: BrokerProcess[], wanted: number, timeoutMs: number, mustList?: BrokerProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no answer yet';
  for (;;) {
    // A node that should come up and has exited will not: fail now, with its log.
    const expected = mustList ? [mustList] : wanted === nodes.length ? nodes : [];
    const dead = expected.find((node) => !node.running);
    if (dead) throw new Error(`Kafka node ${dead.id} exited before the cluster served; broker.log ends:\n${dead.logTail()}`);
    const live = nodes.filter((node) => node.running).map((node) => node.address);
    const admin = new Kafka({ clientId: 'kafka-test-wait', brokers: live, logLevel: logLevel.NOTHING, connectionTimeout: 500, requestTimeout: 2_000, retry: { retries: 0 } }).admin();
    try {
      await admin.connect();
      const { brokers } = await admin.describeCluster();
      if (brokers.length >= wanted && (!mustList || brokers.some((broker) => broker.nodeId === mustList.id))) return;
      lastError = `${brokers.length} of ${wanted} brokers registered`;
    } catch (error) {
      lastError = (error as Error).message;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    if (Date.now() > deadline) {
      throw new Error(`Kafka did not serve ${wanted} broker(s) within ${timeoutMs} ms (${lastError}); node 1's broker.log ends:\n${nodes[0].logTail()}`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
}

/**
 * Creates __consumer_offsets now (the first FindCoordinator does), so the first consumer group of a
 * test joins without waiting out "coordinator not available" retries.
 */
async function warmUpGroupCoordinator(brokers: string[], timeoutMs: number): Promise<void> {
  const admin = new Kafka({ clientId: 'kafka-test-warm-up', brokers, logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1_000 } }).admin();
  const deadline = Date.now() + timeoutMs;
  try {
    await admin.connect();
    for (;;) {
      try {
        await admin.describeGroups(['kafka-test-warm-up']);
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`Kafka's group coordinator did not come up within ${timeoutMs} ms: ${(error as Error).message}`);
      }
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
