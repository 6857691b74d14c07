import { fork } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store';
import { DATASET_SKUS, datasetDir } from '../support/generate-events';
import { quiesce, startLedger, storeKind, type RunningLedger } from '../support/ledger';
import { RssSampler, find, goal, measurement, now, profiled, round, type Goal, type Measurement, type ScenarioOptions, type ScenarioResult } from '../support/measure';

const PROJECTIONS = ['channel-availability', 'reservations', 'returns', 'location-stock'] as const;
const APPLIED_METRIC = 'ledger_projection_events_applied_total';
const REBUILD_LINE = 'rebuild all 4 projections (admin rebuild, concurrently)';
const CATCH_UP_LINE = 'catch-up from zero at start (4 live projections)';
const ALONE_PREFIX = 'rebuild one projection alone: ';
const REPLAY_LINE = 'replay: read + parse the whole ledger';

/**
 * Replay and rebuild on a generated ledger of 1,000,000 events (quick: 100,000) over 5,000 SKUs. The
 * ledger is generated once per size and cached under $BENCH_DATA_DIR (default the OS temp dir); each
 * run links it into a fresh data directory, so the projections start from nothing.
 */
export default async function run(options: ScenarioOptions): Promise<ScenarioResult> {
  if (storeKind(options.env) !== 'sqlite') {
    return { scenario: 'rebuild', quick: options.quick, store: 'esdb', measurements: [], ratios: {}, goals: [], notes: ['rebuild runs on the embedded store only (its dataset is a SQLite file)'] };
  }
  const total = options.quick ? 100_000 : 1_000_000;
  const dataset = datasetDir(process.env.BENCH_DATA_DIR ?? tmpdir(), total);
  if (!existsSync(join(dataset, 'ledger.db'))) {
    const started = now();
    await generateInChild(dataset, total);
    console.log(`[rebuild] dataset of ${total} events generated in ${((now() - started) / 1000).toFixed(1)} s at ${dataset}`);
  }
  const dataDir = join(options.workDir, 'ledger');
  mkdirSync(dataDir, { recursive: true });
  symlinkSync(join(dataset, 'ledger.db'), join(dataDir, 'ledger.db'));

  const replay = replayRead(join(dataset, 'ledger.db'));
  const events = replay.operations;

  const rss = new RssSampler(10).start();
  rss.reset();
  let running: RunningLedger | null = null;
  const catchUpStarted = now();
  running = await startLedger(dataDir, options.env);
  const catchUp = await trackProgress(running, rss, catchUpStarted, events, () => waitAllCaughtUp(running as RunningLedger), PROJECTIONS.length, true);
  // The relays copy the whole ledger to the bus after a start from nothing: let them finish first.
  await quiesce(running);

  rss.reset();
  const rebuildStarted = now();
  const rebuild = await profiled('rebuild', () =>
    trackProgress(running as RunningLedger, rss, rebuildStarted, events, async () => {
      await Promise.all(PROJECTIONS.map((name) => (running as RunningLedger).projections.rebuild(name).done));
    }),
  );
  const alone: { name: string; outcome: Progress }[] = [];
  for (const name of PROJECTIONS) {
    rss.reset();
    const started = now();
    const outcome = await trackProgress(running, rss, started, events, async () => {
      await (running as RunningLedger).projections.rebuild(name).done;
    }, 1);
    alone.push({ name, outcome });
  }
  await running.close();
  rss.stop();

  const line = (name: string, outcome: Progress, projections: number = PROJECTIONS.length): Measurement =>
    measurement({
      name,
      operations: events,
      seconds: outcome.seconds,
      unit: 'events/s',
      latencyMs: null,
      peakRssMb: outcome.peakMb,
      correctness: null,
      extra: {
        rssAt25PercentMb: outcome.rssAt[0],
        rssAt50PercentMb: outcome.rssAt[1],
        rssAt100PercentMb: outcome.rssAt[2],
        rssBeforeMb: outcome.rssBefore,
        projectionEventsPerSecond: round((events * projections) / outcome.seconds),
      },
    });
  return {
    scenario: 'rebuild',
    quick: options.quick,
    store: 'sqlite',
    measurements: [
      line(REBUILD_LINE, rebuild),
      ...alone.map(({ name, outcome }) => line(`${ALONE_PREFIX}${name}`, outcome, 1)),
      line(CATCH_UP_LINE, catchUp),
      replay,
    ],
    ratios: {},
    goals: [],
    notes: [
      `${events.toLocaleString('en-US')} events over ${DATASET_SKUS.toLocaleString('en-US')} SKUs; events/s counts ledger events, each applied by all 4 projections (projectionEventsPerSecond = 4x).`,
      'RSS at 25/50/100% is the resident size when that share of the work was applied; flat means it does not grow with the number of events.',
    ],
  };
}

export function evaluate(result: ScenarioResult): Goal[] {
  if (result.measurements.length === 0) return [];
  const rebuild = find(result, REBUILD_LINE);
  const alone = result.measurements.filter((m) => m.name.startsWith(ALONE_PREFIX));
  const slowest = alone.reduce((worst, m) => (m.throughput < worst.throughput ? m : worst), alone[0]);
  const at25 = Number(rebuild.extra?.rssAt25PercentMb);
  const at100 = Number(rebuild.extra?.rssAt100PercentMb);
  const growth = round(((at100 - at25) / at25) * 100, 1);
  return [
    goal('rebuild all 4 projections at once', '>= 150,000 events/s', `${rebuild.throughput}/s`, rebuild.throughput >= 150_000),
    goal(
      'rebuild each projection alone',
      '>= 100,000 events/s',
      `slowest ${slowest.name.slice(ALONE_PREFIX.length)} ${slowest.throughput}/s`,
      alone.every((m) => m.throughput >= 100_000),
    ),
    goal('rebuild memory flat', 'RSS at 100% within 20% of RSS at 25%', `${at25} -> ${at100} MB (${growth}%)`, growth <= 20),
  ];
}

function generateInChild(dir: string, total: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, '..', 'support', 'generate-events.ts'), [dir, String(total)], {
      execArgv: ['-r', join(__dirname, '..', 'support', 'register.js'), '--max-old-space-size=4096'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`dataset generator exited with ${code}`))));
  });
}

/** Reads every event back through the store's own read path (SQL + JSON.parse), in pages. */
function replayRead(path: string): Measurement {
  const store = new SqliteEventStore({ path });
  const started = now();
  let after: number | null = null;
  let count = 0;
  for (;;) {
    const page = store.readAllSync({ after, maxCount: 5_000 });
    if (page.length === 0) break;
    count += page.length;
    after = page[page.length - 1].position;
  }
  const seconds = (now() - started) / 1000;
  void store.close();
  return measurement({ name: REPLAY_LINE, operations: count, seconds, unit: 'events/s', latencyMs: null, peakRssMb: round(process.memoryUsage.rss() / 1024 / 1024, 1), correctness: null });
}

async function waitAllCaughtUp(running: RunningLedger): Promise<void> {
  const head = (await running.store.headPosition()) ?? 0;
  for (const name of PROJECTIONS) {
    if (!(await running.projections.waitForPosition(name, head, 600_000))) throw new Error(`${name} did not catch up`);
  }
}

interface Progress {
  seconds: number;
  peakMb: number;
  rssBefore: number;
  /** Resident MB when 25%, 50% and 100% of the work was applied. */
  rssAt: [number, number, number];
}

/** Runs `work` while watching the projections' applied-events counter to note RSS at 25/50/100%. */
async function trackProgress(running: RunningLedger, rss: RssSampler, started: number, events: number, work: () => Promise<void>, projections: number = PROJECTIONS.length, fromZero = false): Promise<Progress> {
  // Looked up each time: the projection manager registers the counter with the first applied batch.
  const applied = async () => ((await running.metrics.registry.getSingleMetric(APPLIED_METRIC)?.get())?.values ?? []).reduce((sum, value) => sum + value.value, 0);
  // A catch-up at start began while the app was starting: count from the app's first event.
  const before = fromZero ? 0 : await applied();
  const rssBefore = round(process.memoryUsage.rss() / 1024 / 1024, 1);
  const goalTotal = events * projections;
  const rssAt: [number, number, number] = [NaN, NaN, NaN];
  const marks = [0.25, 0.5];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const share = ((await applied()) - before) / goalTotal;
      if (!sampling) break;
      for (let i = 0; i < marks.length; i++) if (Number.isNaN(rssAt[i]) && share >= marks[i]) rssAt[i] = round(rss.sample(), 1);
    }
  })();
  await work();
  const seconds = (now() - started) / 1000;
  rssAt[2] = round(rss.sample(), 1);
  sampling = false;
  await sampler;
  for (let i = 0; i < marks.length; i++) if (Number.isNaN(rssAt[i])) rssAt[i] = rssAt[2];
  return { seconds, peakMb: rss.peakMb, rssBefore, rssAt };
}
