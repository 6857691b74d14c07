import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';

/** librdkafka's mock cluster whose brokers can be taken down and brought back (controllable_cluster.py). */
export interface ControllableKafka {
  brokers: string[];
  /** Every broker closes its connections and refuses new ones; the data stays. */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

const SCRIPT = join(__dirname, 'controllable_cluster.py');
const CANDIDATES = [process.env.KAFKA_MOCK_PYTHON, '/usr/bin/python3', 'python3'].filter((candidate): candidate is string => Boolean(candidate));
const LOAD_LIBRDKAFKA = "import ctypes, ctypes.util; ctypes.CDLL(ctypes.util.find_library('rdkafka') or 'librdkafka.so.1')";
let python: string | null | undefined;

/** A python3 that can load librdkafka (Debian's python3-confluent-kafka brings it), or null. */
export function pythonWithLibrdkafka(): string | null {
  python ??= CANDIDATES.find((candidate) => spawnSync(candidate, ['-c', LOAD_LIBRDKAFKA], { stdio: 'ignore' }).status === 0) ?? null;
  return python;
}

export async function startControllableKafka(brokerCount = 3): Promise<ControllableKafka> {
  const interpreter = pythonWithLibrdkafka();
  if (!interpreter) throw new Error('no python3 here can load librdkafka (apt-get install python3-confluent-kafka)');
  const child: ChildProcessWithoutNullStreams = spawn(interpreter, [SCRIPT, String(brokerCount)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines: Interface = createInterface({ input: child.stdout });
  const replies: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => {
    const next = waiting.shift();
    if (next) next(line);
    else replies.push(line);
  });
  const nextLine = (timeoutMs: number) =>
    new Promise<string>((resolve, reject) => {
      const queued = replies.shift();
      if (queued !== undefined) return resolve(queued);
      const timer = setTimeout(() => reject(new Error(`the Kafka mock did not answer in time\n${stderr}`)), timeoutMs);
      waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  const brokers = (JSON.parse(await nextLine(15_000)) as { brokers: string[] }).brokers;
  const command = async (name: 'down' | 'up') => {
    child.stdin.write(`${name}\n`);
    const reply = JSON.parse(await nextLine(5_000)) as { ok?: string; error?: string };
    if (reply.ok !== name) throw new Error(`the Kafka mock answered ${JSON.stringify(reply)} to ${name}`);
  };
  return {
    brokers,
    down: () => command('down'),
    up: () => command('up'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
