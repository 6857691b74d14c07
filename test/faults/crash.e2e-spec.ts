import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventTypes, skuFromStreamId } from '@ledger/domain';
import { createClient, type HttpClient, type HttpResponse } from '../support/http';
import { auditLedgerFile, readModelDifferences, storedProjectionCheckpoints, storedRelayCheckpoints, type LedgerAudit } from './support/ledger-checks';
import { startLedgerProcess, type LedgerProcess } from './support/ledger-process';
import { seededRandom } from '../support/seeded-random';

/**
 * The service as a child process on the embedded store, under concurrent reservation load, killed
 * with SIGKILL at random moments and restarted on the same data directory. After each kill the
 * ledger file is checked with no process running; after each restart the read models are compared
 * with a fold of that ledger, and every command whose answer was lost is sent again.
 */
const SKUS = ['CRASH-1', 'CRASH-2', 'CRASH-3', 'CRASH-4'];
const CHANNELS: Record<string, string[]> = { web: ['wh-1', 'wh-2'], shop: ['wh-2'] };
const STOCK: Record<string, number> = { 'wh-1': 3_000, 'wh-2': 1_500 };
const KILLS = 5;
const WORKERS = 24;

type Kind = 'reserve' | 'commit' | 'release' | 'sale';
interface Sent {
  kind: Kind;
  sku: string;
  /** reservationId or saleId */
  id: string;
  path: string;
  body?: Record<string, unknown>;
  /** ack: 2xx; refused: a 4xx answer; unknown: no answer (the process died with it in flight). */
  outcome: 'ack' | 'refused' | 'unknown';
  status?: number;
  code?: string;
}

const random = seededRandom();
const sent: Sent[] = [];
/** Reservations acknowledged and not yet the target of a commit or release. */
const held: { sku: string; id: string }[] = [];

function classify(entry: Sent, answer: HttpResponse | Error): Sent {
  // Node's socket errors come from another realm than jest's: no instanceof Error here.
  if (!('status' in answer) || typeof answer.status !== 'number') return { ...entry, outcome: 'unknown', status: undefined, code: undefined };
  const outcome = answer.status >= 200 && answer.status < 300 ? 'ack' : 'refused';
  return { ...entry, outcome, status: answer.status, code: answer.body?.code };
}

function nextCommand(cycle: number, worker: number, n: number): Omit<Sent, 'outcome'> {
  const roll = random.next();
  if (roll < 0.15 && held.length > 0) {
    const { sku, id } = held.splice(random.int(0, held.length - 1), 1)[0];
    return { kind: 'commit', sku, id, path: `/v1/skus/${sku}/reservations/${id}/commit` };
  }
  if (roll < 0.25 && held.length > 0) {
    const { sku, id } = held.splice(random.int(0, held.length - 1), 1)[0];
    return { kind: 'release', sku, id, path: `/v1/skus/${sku}/reservations/${id}/release`, body: { reason: 'cancelled' } };
  }
  const sku = random.pick(SKUS);
  const channel = random.pick(Object.keys(CHANNELS));
  if (roll < 0.3) {
    const id = `sale-${cycle}-${worker}-${n}`;
    return { kind: 'sale', sku, id, path: `/v1/skus/${sku}/sales`, body: { saleId: id, channel, quantity: random.int(1, 2) } };
  }
  const id = `res-${cycle}-${worker}-${n}`;
  return { kind: 'reserve', sku, id, path: `/v1/skus/${sku}/reservations`, body: { reservationId: id, channel, quantity: random.int(1, 3), ttlSeconds: 3_600 } };
}

async function send(client: HttpClient, command: Omit<Sent, 'outcome'>): Promise<Sent> {
  const answer = await client.post(command.path, command.body).catch((error: Error) => error);
  const entry = classify({ ...command, outcome: 'unknown' }, answer);
  if (entry.outcome === 'ack' && entry.kind === 'reserve') held.push({ sku: entry.sku, id: entry.id });
  return entry;
}

/** What must be in the ledger for each command, by what its answer said. */
function expectAcknowledgedInLedger(audit: LedgerAudit, commands: Sent[]): void {
  const index = new Map<string, Record<string, any>>();
  for (const event of audit.events) {
    const sku = skuFromStreamId(event.streamId);
    const data = event.data as Record<string, any>;
    const id = data.reservationId ?? data.saleId;
    if (sku && id) index.set(`${sku}|${event.type}|${id}`, data);
  }
  const typeOf: Record<Kind, string> = {
    reserve: EventTypes.StockReserved,
    commit: EventTypes.ReservationCommitted,
    release: EventTypes.ReservationReleased,
    sale: EventTypes.StockSold,
  };
  const missing: string[] = [];
  const phantom: string[] = [];
  const mismatched: string[] = [];
  for (const command of commands) {
    const data = index.get(`${command.sku}|${typeOf[command.kind]}|${command.id}`);
    if (command.outcome === 'ack' && !data) missing.push(`${command.kind} ${command.sku}/${command.id}`);
    // A refusal (insufficient stock, a hold no longer held) appended nothing for this command.
    if (command.outcome === 'refused' && data && (command.kind === 'reserve' || command.kind === 'sale')) phantom.push(`${command.kind} ${command.sku}/${command.id} (${command.status})`);
    // Whatever made it in is the command as sent, not some part of it.
    if (data && command.body && 'quantity' in command.body && (data.quantity !== command.body.quantity || data.channel !== command.body.channel)) {
      mismatched.push(`${command.kind} ${command.id}: sent ${JSON.stringify(command.body)}, ledger ${JSON.stringify(data)}`);
    }
  }
  expect({ seed: random.seed, missing, phantom, mismatched }).toEqual({ seed: random.seed, missing: [], phantom: [], mismatched: [] });
}

describe('crash: SIGKILL under load, restart on the same data directory', () => {
  jest.setTimeout(120_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-crash-'));
  let ledger: LedgerProcess | null = null;
  let client: HttpClient | null = null;

  async function start(): Promise<HttpClient> {
    ledger = await startLedgerProcess({ dataDir, env: { LEDGER_SWEEP_INTERVAL_MS: '200' } });
    client = createClient(ledger.url, { maxSockets: WORKERS * 2 });
    return client;
  }

  afterAll(async () => {
    client?.close();
    await ledger?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('sets up channels and stock', async () => {
    const http = await start();
    for (const [channel, locations] of Object.entries(CHANNELS)) expect((await http.put(`/v1/channels/${channel}`, { locations })).status).toBe(200);
    for (const sku of SKUS) {
      for (const [location, quantity] of Object.entries(STOCK)) {
        expect((await http.post(`/v1/skus/${sku}/receipts`, { receiptId: `rc-${location}`, location, quantity })).status).toBe(201);
      }
    }
  });

  for (let cycle = 1; cycle <= KILLS; cycle++) {
    it(`kill ${cycle} of ${KILLS}: every acknowledged command survives, nothing is half-applied, projections and relays resume and converge`, async () => {
      const running = ledger as LedgerProcess;
      const http = client as HttpClient;
      const before = sent.length;

      // Load: WORKERS clients in a closed loop until the process dies under them.
      let dead = false;
      const workers = Array.from({ length: WORKERS }, async (_, worker) => {
        for (let n = 0; !dead; n++) {
          const entry = await send(http, nextCommand(cycle, worker, n));
          sent.push(entry);
          if (entry.outcome === 'unknown') return;
          if (entry.status !== undefined && entry.status >= 500) throw new Error(`${entry.kind} ${entry.id} answered ${entry.status} ${entry.code} before any crash (seed ${random.seed})`);
        }
      });
      const killAfterMs = random.int(150, 1_200);
      await new Promise((done) => setTimeout(done, killAfterMs));
      await running.kill();
      dead = true;
      await Promise.all(workers);
      http.close();
      const thisCycle = sent.slice(before);
      if (process.env.FAULTS_DEBUG) {
        const tally: Record<string, number> = {};
        for (const entry of thisCycle) tally[`${entry.kind}:${entry.outcome}`] = (tally[`${entry.kind}:${entry.outcome}`] ?? 0) + 1;
        console.log(`kill ${cycle} after ${killAfterMs} ms: ${JSON.stringify(tally)}`);
      }
      expect(thisCycle.filter((entry) => entry.outcome === 'ack').length).toBeGreaterThan(0);

      // With no process running: the file's ledger is whole and holds everything acknowledged.
      const audit = await auditLedgerFile(dataDir);
      expect({ seed: random.seed, killAfterMs, problems: audit.problems }).toEqual({ seed: random.seed, killAfterMs, problems: [] });
      expectAcknowledgedInLedger(audit, sent);
      const checkpointsAtCrash = storedProjectionCheckpoints(dataDir);
      const relaysAtCrash = storedRelayCheckpoints(dataDir);

      // Restart on the same directory: projections go on from their checkpoints, not from zero.
      const restarted = await start();
      const { projections } = (await restarted.get('/v1/admin/projections')).body as { projections: { name: string; generation: number; checkpoint: number | null }[] };
      for (const projection of projections) {
        const stored = checkpointsAtCrash[projection.name];
        expect({ name: projection.name, generation: projection.generation }).toEqual({ name: projection.name, generation: stored.generation });
        expect(projection.checkpoint ?? -1).toBeGreaterThanOrEqual(stored.position ?? -1);
      }
      expect(Object.values(checkpointsAtCrash).some((checkpoint) => (checkpoint.position ?? 0) > 0)).toBe(true);

      // Every command whose answer was lost is sent again, as a client would: it lands at most once.
      const unknown = thisCycle.filter((entry) => entry.outcome === 'unknown');
      for (const entry of unknown) {
        const again = await send(restarted, entry);
        expect({ id: entry.id, status: again.status, fine: again.outcome !== 'unknown' && (again.status as number) < 500 }).toEqual({ id: entry.id, status: again.status, fine: true });
        sent[sent.indexOf(entry)] = again;
      }
      // A repeat of acknowledged commands after the restart appends nothing and says it is a replay.
      const { head } = await auditLedgerFile(dataDir);
      const repeats = sent.filter((entry) => entry.outcome === 'ack').slice(-20);
      for (const entry of repeats) {
        const again = await restarted.post(entry.path, entry.body);
        expect({ id: entry.id, status: again.status, replayed: again.headers['idempotent-replayed'] }).toEqual({ id: entry.id, status: entry.status, replayed: 'true' });
      }
      // The read models converge to the fold of the ledger as it now stands (read from the file:
      // SQLite lets another process read while the service writes).
      const now = await auditLedgerFile(dataDir);
      expect(now.head).toBe(head);
      expect(now.problems).toEqual([]);
      expect(await readModelDifferences(restarted, now.fold, SKUS, now.head)).toEqual([]);

      // The relays (when the service has them) resume from their stored checkpoints and catch up.
      await expectRelaysCaughtUp(restarted, relaysAtCrash, now.head);
    });
  }

  it('after the last restart: the whole history still checks out, once more from the file', async () => {
    const running = ledger as LedgerProcess;
    (client as HttpClient).close();
    await running.stop();
    expect(running.output()).not.toMatch(/unexpected error/);
    const audit = await auditLedgerFile(dataDir);
    expect(audit.problems).toEqual([]);
    expectAcknowledgedInLedger(audit, sent);
    const acknowledged = sent.filter((entry) => entry.outcome === 'ack');
    expect(acknowledged.length).toBeGreaterThan(KILLS * 20);
    expect(sent.filter((entry) => entry.outcome === 'unknown')).toEqual([]);
    // One StockReserved per reservation id, however often it was sent.
    const reserved = audit.events.filter((event) => event.type === EventTypes.StockReserved).map((event) => `${event.streamId}|${event.data.reservationId}`);
    expect(new Set(reserved).size).toBe(reserved.length);
  });
});

/**
 * When the service runs relays (readiness then has a `messaging` check listing them), each must go on
 * from the checkpoint it had stored at the crash, not from zero, and catch up with the ledger.
 */
async function expectRelaysCaughtUp(http: HttpClient, atCrash: Record<string, number>, head: number | null): Promise<void> {
  type Relay = { name: string; checkpoint: number | null; head: number | null; lagPositions: number; state: string };
  const relays = async (): Promise<Relay[] | null> => {
    const ready = await http.get('/health/ready');
    return (ready.body?.checks?.messaging?.detail?.relays as Relay[] | undefined) ?? null;
  };
  const first = await relays();
  if (!first) return;
  for (const relay of first) {
    if (atCrash[relay.name] !== undefined) expect({ relay: relay.name, resumed: (relay.checkpoint ?? -1) >= atCrash[relay.name] }).toEqual({ relay: relay.name, resumed: true });
  }
  const deadline = Date.now() + 20_000;
  for (;;) {
    const now = (await relays()) ?? [];
    const behind = now.filter((relay) => relay.lagPositions > 0 || (relay.name === 'ledger' && head !== null && (relay.checkpoint ?? -1) < head));
    if (behind.length === 0) return;
    if (Date.now() > deadline) throw new Error(`relays did not catch up with the ledger (head ${head}): ${JSON.stringify(behind)}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}
