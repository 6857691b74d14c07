import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { verifyStore, type VerifyReport } from '@ledger/audit';
import { EventTypes, skuFromStreamId, type Allocation } from '@ledger/domain';
import { SqliteEventStore, type RecordedEvent } from '@ledger/event-store';
import type { HttpClient } from '../../support/http';
import { foldLedger, readWholeLedger, type LedgerFold } from '../../support/ledger-fold';

/** What a data directory's ledger holds, checked: read from the file with no service running. */
export interface LedgerAudit {
  events: RecordedEvent[];
  fold: LedgerFold;
  verify: VerifyReport;
  head: number | null;
  /** Every broken promise found, in words; empty when all hold. */
  problems: string[];
}

/** Opens the embedded store of a data directory (the service must not be running on it). */
export function openLedgerFile(dataDir: string): SqliteEventStore {
  return new SqliteEventStore({ path: join(dataDir, 'ledger.db') });
}

/** Reads the whole ledger from the data directory, verifies hash chains and folds it with the domain's evolve. */
export async function auditLedgerFile(dataDir: string): Promise<LedgerAudit> {
  const store = openLedgerFile(dataDir);
  try {
    const events = await readWholeLedger(store);
    const verify = await verifyStore(store);
    const fold = foldLedger(events);
    const problems = [...(verify.ok ? [] : verify.breaks.map((b) => `chain: ${b.kind} at ${b.streamId}@${b.revision}: ${b.message}`)), ...ledgerProblems(events, fold)];
    return { events, fold, verify, head: events.length ? events[events.length - 1].position : null, problems };
  } finally {
    await store.close();
  }
}

const sum = (allocations: Allocation[]) => allocations.reduce((total, allocation) => total + allocation.quantity, 0);

/**
 * The invariants a ledger must keep whatever happened to the process writing it:
 * - every StockReserved / StockSold / ReservationCommitted / ReservationReleased carries allocations
 *   that add up to its quantity (no half-applied hold or sale);
 * - a reservation, sale or receipt id appears at most once per stream with its creating event;
 * - commits and releases follow the StockReserved of their reservation, at most one of them;
 * - per SKU and location: 0 <= reserved <= onHand, and reserved + shortfall is exactly what the held
 *   reservations allocate there.
 */
export function ledgerProblems(events: RecordedEvent[], fold: LedgerFold): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const once = (key: string, what: string) => {
    if (seen.has(key)) problems.push(`${what} appears twice (${key})`);
    seen.add(key);
  };
  const reservations = new Map<string, { quantity: number; finished: string | null }>();
  for (const event of events) {
    const sku = skuFromStreamId(event.streamId);
    if (!sku) continue;
    const data = event.data as Record<string, any>;
    const where = `${sku}@${event.revision} ${event.type}`;
    if ('allocations' in data && sum(data.allocations as Allocation[]) !== data.quantity) {
      problems.push(`${where}: allocations ${JSON.stringify(data.allocations)} do not add up to quantity ${data.quantity}`);
    }
    switch (event.type) {
      case EventTypes.StockReserved:
        once(`${sku}|reserve|${data.reservationId}`, `reservation ${data.reservationId}`);
        reservations.set(`${sku}|${data.reservationId}`, { quantity: data.quantity, finished: null });
        break;
      case EventTypes.ReservationCommitted:
      case EventTypes.ReservationReleased: {
        const reservation = reservations.get(`${sku}|${data.reservationId}`);
        if (!reservation) problems.push(`${where}: no StockReserved before it for ${data.reservationId}`);
        else if (reservation.finished) problems.push(`${where}: ${data.reservationId} was already ${reservation.finished}`);
        else if (reservation.quantity !== data.quantity) problems.push(`${where}: quantity ${data.quantity} is not the held ${reservation.quantity}`);
        if (reservation) reservation.finished = event.type;
        break;
      }
      case EventTypes.StockSold:
        once(`${sku}|sale|${data.saleId}`, `sale ${data.saleId}`);
        break;
      case EventTypes.StockReceived:
        once(`${sku}|receipt|${data.receiptId}`, `receipt ${data.receiptId}`);
        break;
    }
  }
  for (const [sku, { state }] of fold.states) {
    const heldAt = new Map<string, number>();
    for (const id of state.held) {
      for (const { location, quantity } of state.reservations.get(id)?.allocations ?? []) heldAt.set(location, (heldAt.get(location) ?? 0) + quantity);
    }
    for (const [location, stock] of state.locations) {
      const at = `${sku} at ${location}`;
      if (stock.onHand < 0) problems.push(`${at}: onHand ${stock.onHand} < 0`);
      if (stock.reserved < 0) problems.push(`${at}: reserved ${stock.reserved} < 0`);
      if (stock.reserved > stock.onHand) problems.push(`${at}: reserved ${stock.reserved} > onHand ${stock.onHand}`);
      if (stock.pendingInspection < 0) problems.push(`${at}: pendingInspection ${stock.pendingInspection} < 0`);
      if (stock.reserved + stock.shortfall !== (heldAt.get(location) ?? 0)) {
        problems.push(`${at}: reserved ${stock.reserved} + shortfall ${stock.shortfall} is not the ${heldAt.get(location) ?? 0} the held reservations allocate`);
      }
    }
  }
  return problems;
}

/** The projections' checkpoints as stored in projections.db (active generation only). */
export function storedProjectionCheckpoints(dataDir: string): Record<string, { generation: number; position: number | null }> {
  const path = join(dataDir, 'projections.db');
  if (!existsSync(path)) return {};
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT name, generation, position FROM projection_checkpoints WHERE active = 1').all() as { name: string; generation: number; position: number | null }[];
    return Object.fromEntries(rows.map((row) => [row.name, { generation: row.generation, position: row.position }]));
  } finally {
    db.close();
  }
}

/** Relay checkpoints as stored (empty when there is no relay, or it never stored one). */
export function storedRelayCheckpoints(dataDir: string): Record<string, number> {
  const path = join(dataDir, 'projections.db');
  if (!existsSync(path)) return {};
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'relay_checkpoints'").get();
    if (!table) return {};
    const rows = db.prepare('SELECT name, position FROM relay_checkpoints').all() as { name: string; position: number }[];
    return Object.fromEntries(rows.map((row) => [row.name, row.position]));
  } finally {
    db.close();
  }
}

/** GET a JSON body, retrying a 503 (a read model not yet at the position asked for) for a while. */
async function getJson(client: HttpClient, path: string, timeoutMs = 20_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await client.get(path);
    if (answer.status === 200) return answer.body;
    if (answer.status !== 503 || Date.now() > deadline) throw new Error(`GET ${path} answered ${answer.status}: ${answer.text}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

/**
 * Differences between what the service's read models answer (availability per SKU, the reservations
 * list) and the fold of the ledger, once they have reached `head`. Empty when they are equal.
 */
export async function readModelDifferences(client: HttpClient, fold: LedgerFold, skus: string[], head: number | null): Promise<string[]> {
  const problems: string[] = [];
  const min = head === null ? '' : `minPosition=${head}`;
  for (const sku of skus) {
    const availability = await getJson(client, `/v1/skus/${encodeURIComponent(sku)}/availability?${min}`);
    const served = (availability.channels as { channel: string; available: number; revision: number }[])
      .map(({ channel, available, revision }) => ({ channel, available, revision }))
      .sort((a, b) => a.channel.localeCompare(b.channel));
    const expected = fold.availability
      .filter((row) => row.sku === sku)
      .map(({ channel, available, revision }) => ({ channel, available, revision }))
      .sort((a, b) => a.channel.localeCompare(b.channel));
    if (JSON.stringify(served) !== JSON.stringify(expected)) problems.push(`availability of ${sku}: served ${JSON.stringify(served)}, ledger fold ${JSON.stringify(expected)}`);

    const listed: { reservationId: string; status: string; quantity: number; channel: string }[] = [];
    let cursor: string | null = null;
    do {
      const query: string = [`sku=${encodeURIComponent(sku)}`, 'limit=1000', min, cursor ? `cursor=${encodeURIComponent(cursor)}` : ''].filter(Boolean).join('&');
      const page = await getJson(client, `/v1/reservations?${query}`);
      for (const item of page.items) listed.push({ reservationId: item.reservationId, status: item.status, quantity: item.quantity, channel: item.channel });
      cursor = page.nextCursor;
    } while (cursor);
    const byId = (a: { reservationId: string }, b: { reservationId: string }) => (a.reservationId < b.reservationId ? -1 : a.reservationId > b.reservationId ? 1 : 0);
    const wanted = fold.reservations.filter((row) => row.sku === sku).map(({ reservationId, status, quantity, channel }) => ({ reservationId, status, quantity, channel }));
    listed.sort(byId);
    wanted.sort(byId);
    if (JSON.stringify(listed) !== JSON.stringify(wanted)) {
      const show = (rows: typeof listed) => new Map(rows.map((row) => [row.reservationId, JSON.stringify(row)]));
      const [a, b] = [show(listed), show(wanted)];
      const diff = [...new Set([...a.keys(), ...b.keys()])].filter((id) => a.get(id) !== b.get(id)).slice(0, 5);
      problems.push(`reservations of ${sku}: ${listed.length} listed, ${wanted.length} in the ledger; first differences: ${diff.map((id) => `${id}: served ${a.get(id)} / ledger ${b.get(id)}`).join('; ')}`);
    }
  }
  return problems;
}
