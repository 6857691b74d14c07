import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { passThroughEnv, storeKind } from './support/ledger';
import { median, round, type Goal, type Measurement, type ScenarioResult } from './support/measure';
import { SCENARIOS, loadScenario, type ScenarioName } from './scenarios';

/**
 * `npm run bench [-- --quick] [--only hot-sku,catalog] [--repeat 3] [--profile]`
 *
 * Each scenario runs in a fresh node process (so peak RSS is its own), `--repeat` times; the table
 * and bench/results/<scenario>.json carry the median of the runs, the JSON also every run.
 */
interface Args {
  quick: boolean;
  only: ScenarioName[];
  repeat: number;
  profile: boolean;
}

const BENCH_DIR = __dirname;
const RESULTS_DIR = join(BENCH_DIR, 'results');

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, only: [...SCENARIOS], repeat: 1, profile: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const inline = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (inline === undefined) throw new Error(`${arg} needs a value`);
      return inline;
    };
    if (arg === '--quick') args.quick = true;
    else if (arg === '--profile') args.profile = true;
    else if (arg.startsWith('--repeat')) args.repeat = Math.max(1, Number(value()));
    else if (arg.startsWith('--only')) {
      const names = value().split(',').map((name) => name.trim()).filter(Boolean);
      for (const name of names) if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`unknown scenario ${name}; one of ${SCENARIOS.join(', ')}`);
      args.only = names as ScenarioName[];
    } else if (arg === '--help' || arg === '-h') {
      console.log(`npm run bench -- [--quick] [--only ${SCENARIOS.join(',')}] [--repeat N] [--profile]`);
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  return args;
}

export function machine(): Record<string, string | number> {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGb: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    os: `${process.platform} ${release()}`,
    dataDir: process.env.BENCH_DATA_DIR ?? tmpdir(),
  };
}

function runOnce(name: ScenarioName, args: Args, env: Record<string, string>): Promise<ScenarioResult> {
  const workDir = mkdtempSync(join(process.env.BENCH_DATA_DIR ?? tmpdir(), `ledger-bench-${name}-`));
  const execArgv = ['-r', join(BENCH_DIR, 'support', 'register.js'), '--max-old-space-size=4096'];
  return new Promise((resolvePromise, reject) => {
    const child = fork(join(BENCH_DIR, 'support', 'child.ts'), [name, JSON.stringify({ quick: args.quick, env, workDir })], {
      execArgv,
      env: { ...process.env, BENCH_PROFILE: args.profile ? '1' : '' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: ScenarioResult | null = null;
    const timer = setTimeout(() => child.kill('SIGKILL'), 30 * 60_000);
    child.on('message', (message: { result?: ScenarioResult }) => {
      if (message.result) result = message.result;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      rmSync(workDir, { recursive: true, force: true });
      if (result && code === 0) resolvePromise(result);
      else reject(new Error(`scenario ${name} exited with ${signal ?? code}`));
    });
  });
}

/** Field by field medians of the runs; correctness takes the worst run. */
function aggregate(runs: ScenarioResult[]): ScenarioResult {
  const first = runs[0];
  const measurements = first.measurements.map((line): Measurement => {
    const lines = runs.map((run) => run.measurements.find((other) => other.name === line.name)).filter((other): other is Measurement => !!other);
    const med = (pick: (m: Measurement) => number | undefined) => {
      const values = lines.map(pick).filter((value): value is number => typeof value === 'number' && Number.isFinite(value));
      return values.length ? median(values) : NaN;
    };
    const worst = (pick: (m: Measurement) => number | undefined) => Math.max(...lines.map((m) => pick(m) ?? 0));
    const extra: Record<string, number | string> = {};
    for (const [key, value] of Object.entries(line.extra ?? {})) extra[key] = typeof value === 'number' ? round(med((m) => m.extra?.[key] as number), 3) : value;
    return {
      name: line.name,
      unit: line.unit,
      operations: med((m) => m.operations),
      seconds: round(med((m) => m.seconds), 3),
      throughput: round(med((m) => m.throughput)),
      latencyMs: line.latencyMs && {
        p50: round(med((m) => m.latencyMs?.p50), 3),
        p95: round(med((m) => m.latencyMs?.p95), 3),
        p99: round(med((m) => m.latencyMs?.p99), 3),
        max: round(med((m) => m.latencyMs?.max), 3),
      },
      peakRssMb: round(med((m) => m.peakRssMb), 1),
      correctness: line.correctness && {
        accepted: med((m) => m.correctness?.accepted),
        refused: med((m) => m.correctness?.refused),
        oversold: worst((m) => m.correctness?.oversold),
        errors: worst((m) => m.correctness?.errors),
      },
      extra,
    };
  });
  const ratios: Record<string, number> = {};
  for (const key of Object.keys(first.ratios)) ratios[key] = round(median(runs.map((run) => run.ratios[key])), 2);
  return { ...first, measurements, ratios, goals: [], notes: [...new Set(runs.flatMap((run) => run.notes))] };
}

function printTable(result: ScenarioResult, runs: number): void {
  const header = ['', 'ops', 's', 'throughput', 'p50 ms', 'p95 ms', 'p99 ms', 'peak RSS MB', 'accepted', 'refused', 'oversold'];
  const rows = result.measurements.map((m) => [
    m.name,
    String(m.operations),
    m.seconds.toFixed(2),
    `${m.throughput.toLocaleString('en-US')} ${m.unit}`,
    m.latencyMs ? m.latencyMs.p50.toFixed(2) : '-',
    m.latencyMs ? m.latencyMs.p95.toFixed(2) : '-',
    m.latencyMs ? m.latencyMs.p99.toFixed(2) : '-',
    m.peakRssMb.toFixed(0),
    m.correctness ? String(m.correctness.accepted) : '-',
    m.correctness ? String(m.correctness.refused) : '-',
    m.correctness ? String(m.correctness.oversold) : '-',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join(' | ');
  console.log(`\n== ${result.scenario} (${result.quick ? 'quick' : 'full'}, ${result.store} store${runs > 1 ? `, median of ${runs} runs` : ''}) ==`);
  console.log(line(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('-|-'));
  for (const row of rows) console.log(line(row));
  for (const [key, value] of Object.entries(result.ratios)) console.log(`ratio ${key}: ${value}x`);
  for (const m of result.measurements) {
    const extra = Object.entries(m.extra ?? {});
    if (extra.length) console.log(`  ${m.name}: ${extra.map(([key, value]) => `${key}=${value}`).join(', ')}`);
  }
  for (const g of result.goals) console.log(`  goal ${g.met ? 'met   ' : 'MISSED'} ${g.name}: ${g.actual} (target ${g.target})`);
  for (const note of result.notes) console.log(`  note: ${note}`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const env = passThroughEnv();
  mkdirSync(RESULTS_DIR, { recursive: true });
  console.log(`ledger bench: ${args.quick ? 'quick' : 'full'} mode, ${storeKind(env)} store, scenarios ${args.only.join(', ')}, ${args.repeat} run(s) each`);
  const summary: { scenario: string; goals: Goal[] }[] = [];
  const aggregated = new Map<string, ScenarioResult>();
  let failed = false;
  for (const name of args.only) {
    const runs: ScenarioResult[] = [];
    try {
      for (let i = 0; i < args.repeat; i++) {
        const started = Date.now();
        const result = await runOnce(name, args, env);
        runs.push(result);
        if (args.repeat > 1) {
          const head = result.measurements[0];
          console.log(`  ${name} run ${i + 1}/${args.repeat}: ${head.name} ${head.throughput.toLocaleString('en-US')} ${head.unit} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
        }
      }
    } catch (error) {
      console.error(`\n== ${name} FAILED: ${(error as Error).message}`);
      failed = true;
      continue;
    }
    const result = aggregate(runs);
    result.goals = loadScenario(name).evaluate(result);
    aggregated.set(name, result);
    printTable(result, runs.length);
    writeFileSync(
      join(RESULTS_DIR, `${name}.json`),
      `${JSON.stringify({ ...result, runs: runs.length, machine: machine(), finishedAt: new Date().toISOString(), eachRun: runs }, null, 2)}\n`,
    );
    summary.push({ scenario: name, goals: result.goals });
    if (result.goals.some((g) => /correctness/.test(g.name) && !g.met)) failed = true;
  }
  writeBaselineSummary(aggregated);
  console.log('\n== goals ==');
  for (const { scenario, goals } of summary) {
    for (const g of goals) console.log(`${g.met ? 'met   ' : 'MISSED'} ${scenario}: ${g.name}: ${g.actual} (target ${g.target})`);
  }
  console.log(`\nresults in ${resolve(RESULTS_DIR)}`);
  if (failed) process.exitCode = 1;
}

/** bench/results/baseline.json: the bare-counter lines and the ledger / counter ratios in one place. */
function writeBaselineSummary(results: Map<string, ScenarioResult>): void {
  const entries = [...results.values()]
    .filter((result) => Object.keys(result.ratios).some((key) => /bare counter/.test(key)))
    .map((result) => ({
      scenario: result.scenario,
      ratios: result.ratios,
      lines: result.measurements.map(({ name, throughput, unit, latencyMs, correctness }) => ({ name, throughput, unit, latencyMs, correctness })),
    }));
  if (entries.length === 0) return;
  console.log('\n== baseline: ledger / bare SQLite counter ==');
  for (const entry of entries) for (const [key, value] of Object.entries(entry.ratios)) console.log(`${entry.scenario}: ${key} = ${value}x`);
  writeFileSync(join(RESULTS_DIR, 'baseline.json'), `${JSON.stringify({ machine: machine(), finishedAt: new Date().toISOString(), scenarios: entries }, null, 2)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
