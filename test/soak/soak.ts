/**
 * Soak: mixed load against the service running as a child process, for a set time.
 *
 *   npm run soak                 # 60 s
 *   npm run soak -- --seconds 600 --workers 48 --skus 40
 *
 * While it runs it samples the promises the fault suites prove (acknowledged changes are in the
 * ledger, a SKU's invariants hold, availability equals the fold of the ledger); at the end it prints
 * held throughput, latency percentiles per operation, the process's RSS over time (no growth: the
 * last third against the first), and checks the whole ledger once more from the file. Any failed
 * check exits non-zero.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventTypes, channelAvailable, evolve, initialState } from '@ledger/domain';
import { inventoryEvents } from '@ledger/ledger-model';
import type { RecordedEvent } from '@ledger/event-store';
import { createClient, readLedger, type HttpClient, type HttpResponse } from '../support/http';
import { auditLedgerFile, ledgerProblems, readModelDifferences } from '../faults/support/ledger-checks';
import { startLedgerProcess, type LedgerProcess } from '../faults/support/ledger-process';
import { seededRandom } from '../support/seeded-random';
import { foldLedger } from '../support/ledger-fold';

interface Options {
  seconds: number;
  workers: number;
  skus: number;
  sampleEveryMs: number;
  keep: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { seconds: 60, workers: 32, skus: 20, sampleEveryMs: 5_000, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=');
    const value = () => Number(inline ?? argv[++i]);
    if (flag === '--seconds') options.seconds = value();
    else if (flag === '--workers') options.workers = value();
    else if (flag === '--skus') options.skus = value();
    else if (flag === '--sample-every-ms') options.sampleEveryMs = value();
    else if (flag === '--keep') options.keep = true;
    else if (flag === '--help' || flag === '-h') {
      console.log('usage: npm run soak -- [--seconds 60] [--workers 32] [--skus 20] [--sample-every-ms 5000] [--keep]');
      process.exit(0);
    } else throw new Error(`unknown argument ${argv[i]}`);
  }
  for (const [name, value] of Object.entries(options)) {
    if (typeof value === 'number' && (!Number.isFinite(value) || value <= 0)) throw new Error(`--${name} must be a positive number`);
  }
  return options;
}

const CHANNELS: Record<string, string[]> = { web: ['wh-1', 'wh-2'], shop: ['wh-2'], market: ['wh-1'] };
const LOCATIONS = ['wh-1', 'wh-2'];

type Kind = 'reserve' | 'commit' | 'release' | 'sale' | 'receipt' | 'return' | 'read';
/** Answers each kind may get in normal operation; anything else is a failure. */
const EXPECTED: Record<Kind, number[]> = {
  reserve: [201, 409],
  commit: [200, 409],
  release: [200, 409],
  sale: [201, 409],
  receipt: [201],
  return: [201],
  read: [200],
};
const EVENT_OF: Partial<Record<Kind, string>> = {
  reserve: EventTypes.StockReserved,
  commit: EventTypes.ReservationCommitted,
  release: EventTypes.ReservationReleased,
  sale: EventTypes.StockSold,
  receipt: EventTypes.StockReceived,
  return: EventTypes.ReturnReceived,
};

interface Acked {
  kind: Kind;
  sku: string;
  id: string;
  at: number;
}

class Latencies {
  private readonly samples = new Map<Kind | 'all', number[]>();
  add(kind: Kind, ms: number): void {
    for (const key of [kind, 'all'] as const) {
      const list = this.samples.get(key) ?? [];
      list.push(ms);
      this.samples.set(key, list);
    }
  }
  table(): string[] {
    const rows = ['op        count     p50     p90     p99   p99.9     max  (ms)'];
    for (const [kind, list] of [...this.samples].sort(([a], [b]) => (a === 'all' ? 1 : b === 'all' ? -1 : a.localeCompare(b)))) {
      const sorted = [...list].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
      const cells = [at(0.5), at(0.9), at(0.99), at(0.999), sorted[sorted.length - 1]].map((v) => v.toFixed(1).padStart(7));
      rows.push(`${kind.padEnd(8)} ${String(list.length).padStart(6)} ${cells.join(' ')}`);
    }
    return rows;
  }
}

function rssMb(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const random = seededRandom();
  const failures: string[] = [];
  const fail = (message: string) => {
    if (failures.length < 50) console.error(`FAIL ${message}`);
    failures.push(message);
  };
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-soak-'));
  console.log(`soak: ${options.seconds} s, ${options.workers} workers, ${options.skus} SKUs, seed ${random.seed}, data in ${dataDir}`);

  const ledger: LedgerProcess = await startLedgerProcess({ dataDir, env: { LEDGER_SWEEP_INTERVAL_MS: '1000' } });
  const http: HttpClient = createClient(ledger.url, { maxSockets: options.workers + 8 });
  const skus = Array.from({ length: options.skus }, (_, i) => `SOAK-${i + 1}`);
  try {
    for (const [channel, locations] of Object.entries(CHANNELS)) {
      const answer = await http.put(`/v1/channels/${channel}`, { locations });
      if (answer.status !== 200) throw new Error(`configuring ${channel} answered ${answer.status}`);
    }
    for (const sku of skus) {
      for (const location of LOCATIONS) {
        const answer = await http.post(`/v1/skus/${sku}/receipts`, { receiptId: `rc-init-${location}`, location, quantity: 500 });
        if (answer.status !== 201) throw new Error(`stocking ${sku} answered ${answer.status}`);
      }
    }

    const latencies = new Latencies();
    const acked: Acked[] = [];
    const held = new Map<string, { id: string; expiresAt: number }[]>(skus.map((sku) => [sku, []]));
    const perSecond: number[] = [];
    const rss: { t: number; mb: number }[] = [];
    const started = Date.now();
    const deadline = started + options.seconds * 1_000;
    let counter = 0;
    let stop = false;

    async function op(kind: Kind, sku: string, id: string, send: () => Promise<HttpResponse>): Promise<HttpResponse | null> {
      const t0 = performance.now();
      let answer: HttpResponse;
      try {
        answer = await send();
      } catch (error) {
        fail(`${kind} ${sku}/${id}: no answer (${(error as Error).message})`);
        return null;
      }
      const ms = performance.now() - t0;
      latencies.add(kind, ms);
      const second = Math.floor((Date.now() - started) / 1_000);
      perSecond[second] = (perSecond[second] ?? 0) + 1;
      if (!EXPECTED[kind].includes(answer.status)) fail(`${kind} ${sku}/${id}: unexpected ${answer.status} ${answer.text.slice(0, 200)}`);
      else if (answer.status < 300 && EVENT_OF[kind]) acked.push({ kind, sku, id, at: Date.now() });
      return answer;
    }

    async function worker(w: number): Promise<void> {
      while (!stop && Date.now() < deadline) {
        const sku = random.pick(skus);
        const n = ++counter;
        const roll = random.next();
        const holds = held.get(sku) as { id: string; expiresAt: number }[];
        if (roll < 0.42) {
          const id = `res-${w}-${n}`;
          const ttlSeconds = random.int(2, 30);
          const answer = await op('reserve', sku, id, () => http.post(`/v1/skus/${sku}/reservations`, { reservationId: id, channel: random.pick(Object.keys(CHANNELS)), quantity: random.int(1, 3), ttlSeconds }));
          if (answer?.status === 201) holds.push({ id, expiresAt: Date.parse(answer.body.expiresAt) });
        } else if (roll < 0.57 && holds.length > 0) {
          const { id } = holds.splice(random.int(0, holds.length - 1), 1)[0];
          await op('commit', sku, id, () => http.post(`/v1/skus/${sku}/reservations/${id}/commit`));
        } else if (roll < 0.65 && holds.length > 0) {
          const { id } = holds.splice(random.int(0, holds.length - 1), 1)[0];
          await op('release', sku, id, () => http.post(`/v1/skus/${sku}/reservations/${id}/release`, { reason: 'cancelled' }));
        } else if (roll < 0.74) {
          const id = `sale-${w}-${n}`;
          await op('sale', sku, id, () => http.post(`/v1/skus/${sku}/sales`, { saleId: id, channel: random.pick(Object.keys(CHANNELS)), quantity: random.int(1, 2) }));
        } else if (roll < 0.8) {
          const id = `rc-${w}-${n}`;
          await op('receipt', sku, id, () => http.post(`/v1/skus/${sku}/receipts`, { receiptId: id, location: random.pick(LOCATIONS), quantity: random.int(20, 60) }));
        } else if (roll < 0.82) {
          const id = `ret-${w}-${n}`;
          await op('return', sku, id, () => http.post(`/v1/skus/${sku}/returns`, { returnId: id, location: random.pick(LOCATIONS), quantity: 1 }));
        } else {
          const paths = [`/v1/skus/${sku}/availability`, `/v1/skus/${sku}`, `/v1/reservations?sku=${sku}&limit=50`, `/v1/skus/${sku}/ledger?limit=20`, '/v1/channels/web/availability?limit=50'];
          const path = random.pick(paths);
          await op('read', sku, path, () => http.get(path));
        }
        // Drop holds whose time is up: the sweeper will release them.
        if (holds.length > 200) holds.splice(0, holds.length - 200);
      }
    }

    /** One SKU, while load goes on: its ledger folds cleanly, everything acknowledged for it is there, and its availability equals the fold at the revision it reflects. */
    async function sample(): Promise<void> {
      const sku = random.pick(skus);
      const ackedBefore = acked.filter((entry) => entry.sku === sku);
      const availability = await http.get(`/v1/skus/${sku}/availability`);
      const events = await readLedger(http, sku, 1_000);
      const recorded = events.map((event) => ({ ...event, streamId: `inventory-sku-${sku}` })) as unknown as RecordedEvent[];
      for (const problem of ledgerProblems(recorded, foldLedger(recorded))) fail(`sample ${sku}: ${problem}`);
      const present = new Set(events.map((event) => `${event.type}|${event.data.reservationId ?? event.data.saleId ?? event.data.receiptId ?? event.data.returnId}`));
      for (const entry of ackedBefore) if (!present.has(`${EVENT_OF[entry.kind]}|${entry.id}`)) fail(`sample ${sku}: acknowledged ${entry.kind} ${entry.id} is not in the ledger`);
      const rows = availability.body.channels as { channel: string; available: number; revision: number }[];
      const upTo = Math.max(...rows.map((row) => row.revision));
      const state = initialState();
      for (const event of recorded) {
        const stockEvent = event.revision <= upTo ? inventoryEvents.decode(event) : null;
        if (stockEvent) evolve(state, stockEvent);
      }
      for (const row of rows) {
        const expected = channelAvailable(state, CHANNELS[row.channel] ?? null);
        if (row.available !== expected) fail(`sample ${sku}: ${row.channel} availability ${row.available} at revision ${row.revision}, the ledger folds to ${expected}`);
      }
    }

    const heap: { t: number; mb: number }[] = [];
    const rssTimer = setInterval(() => {
      const t = (Date.now() - started) / 1_000;
      const mb = rssMb(ledger.pid);
      if (mb !== null) rss.push({ t, mb });
      // The V8 heap in use, from the service's own metrics: what objects it keeps, apart from how
      // much memory V8 chose to hold on to.
      void http.get('/metrics').then(
        (answer) => {
          const match = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(answer.text);
          if (match) heap.push({ t, mb: Number(match[1]) / 1024 / 1024 });
        },
        () => undefined,
      );
    }, 1_000);
    let samples = 0;
    const sampler = (async () => {
      while (!stop && Date.now() < deadline) {
        await new Promise((done) => setTimeout(done, Math.min(options.sampleEveryMs, Math.max(0, deadline - Date.now()))));
        if (stop || Date.now() >= deadline) break;
        await sample().catch((error: Error) => fail(`sample: ${error.message}`));
        samples += 1;
      }
    })();
    const progress = setInterval(() => {
      const elapsed = Math.floor((Date.now() - started) / 1_000);
      const last = perSecond.slice(Math.max(0, elapsed - 5), elapsed);
      const rate = last.length ? last.reduce((a, b) => a + (b ?? 0), 0) / last.length : 0;
      console.log(`  ${String(elapsed).padStart(4)} s  ${rate.toFixed(0).padStart(6)} req/s  rss ${rss.length ? rss[rss.length - 1].mb.toFixed(0) : '?'} MB  failures ${failures.length}`);
    }, 5_000);
    await Promise.all(Array.from({ length: options.workers }, (_, w) => worker(w)));
    stop = true;
    await sampler;
    clearInterval(progress);
    clearInterval(rssTimer);
    const elapsedS = (Date.now() - started) / 1_000;

    // Final checks with the load stopped: read models equal the fold, relays caught up, then the file.
    // The sweeper goes on releasing holds whose time is up, so compare at a moment the ledger did not
    // move during the comparison (the head, read from the file, is the same before and after).
    const headNow = () => {
      const db = new Database(join(dataDir, 'ledger.db'), { readonly: true, fileMustExist: true });
      try {
        return (db.prepare('SELECT MAX(position) AS position FROM events').get() as { position: number | null }).position;
      } finally {
        db.close();
      }
    };
    let differences: string[] = ['no comparison at a quiet moment'];
    for (let attempt = 0; attempt < 30; attempt++) {
      const now = await auditLedgerFile(dataDir);
      const found = await readModelDifferences(http, now.fold, skus, now.head);
      if (headNow() === now.head) {
        differences = found;
        break;
      }
    }
    for (const problem of differences) fail(`final read models: ${problem}`);
    const ready = await http.get('/health/ready');
    if (ready.status !== 200) fail(`final readiness ${ready.status}: ${ready.text.slice(0, 300)}`);
    http.close();
    await ledger.stop();
    const exit = await ledger.exited;
    // Nest's shutdown hooks re-raise the signal once done: an exit by SIGTERM is the clean one.
    if (exit.code !== 0 && exit.signal !== 'SIGTERM') fail(`the service exited with ${exit.code ?? exit.signal} on SIGTERM`);
    if (/unexpected error|ERR_|FATAL/i.test(ledger.output())) fail(`the service logged an error:\n${ledger.output().split('\n').filter((line) => /ERROR|ERR_|FATAL/.test(line)).slice(0, 10).join('\n')}`);
    const audit = await auditLedgerFile(dataDir);
    for (const problem of audit.problems) fail(`final ledger: ${problem}`);
    const inLedger = new Set(audit.events.map((event) => `${event.streamId}|${event.type}|${event.data.reservationId ?? event.data.saleId ?? event.data.receiptId ?? event.data.returnId}`));
    const lost = acked.filter((entry) => !inLedger.has(`inventory-sku-${entry.sku}|${EVENT_OF[entry.kind]}|${entry.id}`));
    for (const entry of lost.slice(0, 20)) fail(`final ledger: acknowledged ${entry.kind} ${entry.sku}/${entry.id} is missing`);
    if (lost.length > 20) fail(`final ledger: ${lost.length} acknowledged commands missing in all`);

    // Report.
    const total = latencies.table();
    const windows: number[] = [];
    for (let s = 0; s + 5 <= perSecond.length; s += 5) windows.push(perSecond.slice(s, s + 5).reduce((a, b) => a + (b ?? 0), 0) / 5);
    const requests = perSecond.reduce((a, b) => a + (b ?? 0), 0);
    console.log('');
    console.log(`throughput: ${(requests / elapsedS).toFixed(0)} req/s over ${elapsedS.toFixed(1)} s (${requests} requests); 5-s windows min ${Math.min(...windows).toFixed(0)} / max ${Math.max(...windows).toFixed(0)} req/s`);
    console.log(`ledger: ${audit.events.length} events, ${acked.length} acknowledged changes, ${samples} in-flight samples checked`);
    for (const row of total) console.log(`  ${row}`);
    const third = Math.floor(rss.length / 3);
    const mean = (points: { mb: number }[]) => points.reduce((sum, point) => sum + point.mb, 0) / Math.max(1, points.length);
    const first = mean(rss.slice(0, third));
    const lastThird = mean(rss.slice(rss.length - third));
    const step = Math.max(1, Math.floor(rss.length / 12));
    console.log(`rss over time (MB): ${rss.filter((_, i) => i % step === 0).map((point) => `${point.t.toFixed(0)}s:${point.mb.toFixed(0)}`).join(' ')}`);
    console.log(`heap used over time (MB): ${heap.filter((_, i) => i % step === 0).map((point) => `${point.t.toFixed(0)}s:${point.mb.toFixed(0)}`).join(' ')}`);
    // Growth beyond warm-up: the last third may not exceed the first by more than 25 % + 32 MB.
    const allowed = first * 1.25 + 32;
    console.log(`rss first third ${first.toFixed(0)} MB, last third ${lastThird.toFixed(0)} MB (allowed ${allowed.toFixed(0)} MB)`);
    // The lowest heap in use per third (right after a collection): what the service keeps, not how
    // much V8 chose to hold on to. Growth here with a growing ledger means state kept per event.
    const heapThird = Math.floor(heap.length / 3);
    const floor = (points: { mb: number }[]) => Math.min(...points.map((point) => point.mb));
    if (heapThird > 0) console.log(`heap floor: first third ${floor(heap.slice(0, heapThird)).toFixed(0)} MB, last third ${floor(heap.slice(heap.length - heapThird)).toFixed(0)} MB`);
    if (third > 0 && lastThird > allowed) fail(`rss grew from ${first.toFixed(0)} MB to ${lastThird.toFixed(0)} MB`);
    if (third === 0) console.log('rss: too few samples for a growth check (run longer than 3 s)');
    console.log(failures.length === 0 ? '\nsoak: PASS' : `\nsoak: FAIL (${failures.length} failed checks, seed ${random.seed})`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    http.close();
    await ledger.kill();
    if (!options.keep) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
