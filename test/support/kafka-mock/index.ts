import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** librdkafka's mock cluster (see mock_cluster.py): speaks Kafka's protocol on loopback. */
export interface KafkaMock {
  brokers: string[];
  stop(): Promise<void>;
}

const SCRIPT = join(__dirname, 'mock_cluster.py');
const STARTUP_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
const UNAVAILABLE = 'no python3 here can import confluent_kafka (apt-get install python3-confluent-kafka)';

/**
 * Debian's python3-confluent-kafka installs into the system interpreter, which a pyenv or venv
 * python3 earlier on PATH does not see; KAFKA_MOCK_PYTHON names another one.
 */
const PYTHON_CANDIDATES = [process.env.KAFKA_MOCK_PYTHON, '/usr/bin/python3', 'python3'].filter(
  (candidate): candidate is string => Boolean(candidate),
);

let python: string | null | undefined;

function pythonWithConfluentKafka(): string | null {
  const canImport = (candidate: string) => spawnSync(candidate, ['-c', 'import confluent_kafka'], { stdio: 'ignore' }).status === 0;
  python ??= PYTHON_CANDIDATES.find(canImport) ?? null;
  return python;
}

export function kafkaMockAvailable(): boolean {
  return pythonWithConfluentKafka() !== null;
}

let librdkafkaVersion: string | undefined;

/** librdkafka's version (the mock cluster lives in it), for test output; `unknown` if it cannot be read. */
export function kafkaMockVersion(): string {
  const interpreter = pythonWithConfluentKafka();
  if (!interpreter) return 'unknown';
  librdkafkaVersion ??= spawnSync(interpreter, ['-c', 'import confluent_kafka; print(confluent_kafka.libversion()[0])'], { encoding: 'utf8' }).stdout?.trim() || 'unknown';
  return librdkafkaVersion;
}

export async function startKafkaMock(brokerCount = 3): Promise<KafkaMock> {
  const interpreter = pythonWithConfluentKafka();
  if (!interpreter) throw new Error(`Cannot start the Kafka mock cluster: ${UNAVAILABLE}`);
  const child = spawn(interpreter, [SCRIPT, String(brokerCount)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

  const brokers = await new Promise<string[]>((resolve, reject) => {
    const fail = (reason: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`Kafka mock cluster did not start: ${reason}\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`no broker list within ${STARTUP_TIMEOUT_MS} ms`), STARTUP_TIMEOUT_MS);
    const onExit = (code: number | null) => fail(`exited with ${code}`);
    child.once('error', (error) => fail(error.message));
    child.once('exit', onExit);
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve((JSON.parse(line) as { brokers: string[] }).brokers);
    });
  });

  return {
    brokers,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      // Closing stdin ends the script; the kill is for a librdkafka teardown that hangs.
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
