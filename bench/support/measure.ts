/** Numbers the scenarios share: latency percentiles, RSS sampling, closed-loop drivers, result shapes. */

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface Correctness {
  accepted: number;
  refused: number;
  /** Units promised beyond stock: must be 0. */
  oversold: number;
  /** Anything that was neither accepted nor a domain refusal (crashes, timeouts, 5xx). */
  errors?: number;
}

/** One line of a scenario's table: one system doing one piece of work. */
export interface Measurement {
  name: string;
  operations: number;
  seconds: number;
  /** Operations per second. */
  throughput: number;
  unit: string;
  /** Milliseconds. */
  latencyMs: LatencySummary | null;
  peakRssMb: number;
  correctness: Correctness | null;
  extra?: Record<string, number | string>;
}

export interface Goal {
  name: string;
  target: string;
  actual: string;
  met: boolean;
}

export interface ScenarioResult {
  scenario: string;
  quick: boolean;
  store: 'sqlite' | 'esdb';
  measurements: Measurement[];
  /** e.g. ledger / baseline throughput. */
  ratios: Record<string, number>;
  goals: Goal[];
  notes: string[];
}

export interface ScenarioOptions {
  quick: boolean;
  /** Environment passed through to the app configuration (EVENTSTORE_CONNECTION_STRING...). */
  env: Record<string, string>;
  /** Directory for the scenario's data; removed afterwards by the runner. */
  workDir: string;
}

/** Growable list of latencies in milliseconds. */
export class Latencies {
  private values = new Float64Array(1024);
  private length = 0;

  add(ms: number): void {
    if (this.length === this.values.length) {
      const next = new Float64Array(this.values.length * 2);
      next.set(this.values);
      this.values = next;
    }
    this.values[this.length++] = ms;
  }

  get count(): number {
    return this.length;
  }

  summary(): LatencySummary | null {
    if (this.length === 0) return null;
    const sorted = this.values.slice(0, this.length).sort();
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
    return { p50: round(at(50), 3), p95: round(at(95), 3), p99: round(at(99), 3), max: round(sorted[sorted.length - 1], 3) };
  }
}

/** Samples resident memory while work runs; `peakMb` is the highest sample since `reset`. */
export class RssSampler {
  private peak = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly intervalMs = 50) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  sample(): number {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
    return rss / 1024 / 1024;
  }

  reset(): void {
    this.peak = 0;
    this.sample();
  }

  get peakMb(): number {
    this.sample();
    return round(this.peak / 1024 / 1024, 1);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** CPU seconds (user + system) this process used since the call; robust to other load on the machine. */
export function cpuMeter(): () => number {
  const start = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1e6;
  };
}

/**
 * Makes names unique to this run, so a scenario also runs against a store that keeps earlier runs'
 * data (EventStoreDB); on the embedded store every run has a fresh directory anyway.
 */
export const RUN_TAG = `${Date.now().toString(36)}${process.pid.toString(36)}`;

export function now(): number {
  return performance.now();
}

/**
 * Runs `total` operations with `concurrency` of them in flight at any time (a closed loop: each
 * finished one starts the next). Returns elapsed seconds.
 */
export async function closedLoop(total: number, concurrency: number, operation: (index: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = now();
  const worker = async () => {
    while (next < total) {
      const index = next++;
      await operation(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return (now() - started) / 1000;
}

/** The tests' seeded generator, so both sides of a comparison see the same work. */
export { seededRandom } from '@test/seeded-random';

export function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function measurement(fields: Omit<Measurement, 'throughput'> & { throughput?: number }): Measurement {
  return { ...fields, seconds: round(fields.seconds, 3), throughput: round(fields.throughput ?? fields.operations / fields.seconds) };
}

export function goal(name: string, target: string, actual: string, met: boolean): Goal {
  return { name, target, actual, met };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Lets the event loop run timers and I/O that work queued (projection batches, GC). */
export function settle(ms = 50): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function find(result: ScenarioResult, name: string): Measurement {
  const found = result.measurements.find((line) => line.name === name);
  if (!found) throw new Error(`${result.scenario} has no measurement "${name}"`);
  return found;
}

/**
 * With `--profile` (BENCH_PROFILE=1) the measured part alone is CPU-profiled, through the inspector,
 * into bench/results/profiles/<name>-<pid>.cpuprofile; summarise with `node bench/profile-summary.js`.
 */
export async function profiled<T>(name: string, work: () => Promise<T>): Promise<T> {
  const stop = await startProfile();
  try {
    return await work();
  } finally {
    await stop(name);
  }
}

/** Starts the CPU profiler when profiling is on; the returned function stops it and writes the file. */
export async function startProfile(): Promise<(name: string) => Promise<void>> {
  if (process.env.BENCH_PROFILE !== '1') return async () => undefined;
  const { Session } = await import('node:inspector');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) => session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  return async (name) => {
    const { profile } = await post('Profiler.stop');
    const dir = join(__dirname, '..', 'results', 'profiles');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}-${process.pid}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    console.log(`[profile] ${file}`);
  };
}
