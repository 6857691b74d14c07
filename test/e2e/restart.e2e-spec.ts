import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GENESIS_HASH, chainHash } from '@ledger/ledger-model';
import { EventTypes } from '@ledger/domain';
import { createClient, readLedger, type HttpClient, type LedgerEntry } from '../support/http';
import { startTestApp, type TestApp } from '../support/test-app';

const SKUS = ['RST-1', 'RST-2'];

function expectUnbrokenChain(ledger: LedgerEntry[]): void {
  let prevHash = GENESIS_HASH;
  for (const event of ledger) {
    expect({ revision: event.revision, prevHash: event.metadata.prevHash }).toEqual({ revision: event.revision, prevHash });
    expect(chainHash(prevHash, event)).toBe(event.metadata.hash);
    prevHash = event.metadata.hash;
  }
}

describe('restart: the ledger survives and continues', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-restart-'));
  let testApp: TestApp | null = null;
  let client: HttpClient | null = null;

  async function start(): Promise<HttpClient> {
    testApp = await startTestApp({ dataDir });
    client = createClient(testApp.url);
    return client;
  }
  async function stop(): Promise<void> {
    client?.close();
    await testApp?.close({ keepData: true });
    client = null;
    testApp = null;
  }
  async function snapshot(http: HttpClient) {
    const skus: Record<string, unknown> = {};
    const ledgers: Record<string, LedgerEntry[]> = {};
    for (const sku of SKUS) {
      skus[sku] = (await http.get(`/v1/skus/${sku}`)).body;
      ledgers[sku] = await readLedger(http, sku, 7);
    }
    return { skus, ledgers, channels: (await http.get('/v1/channels')).body };
  }

  afterAll(async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  let before: Awaited<ReturnType<typeof snapshot>>;
  const reserveRst1 = { reservationId: 'res-held', channel: 'web', quantity: 4, ttlSeconds: 3_600 };

  it('records a history before the restart', async () => {
    const http = await start();
    const answers = [
      await http.put('/v1/channels/web', { locations: ['wh-1', 'wh-2'] }),
      await http.put('/v1/channels/shop', { locations: ['wh-2'] }),
      await http.post('/v1/skus/RST-1/receipts', { receiptId: 'rc-1', location: 'wh-1', quantity: 20 }),
      await http.post('/v1/skus/RST-1/receipts', { receiptId: 'rc-2', location: 'wh-2', quantity: 10, reference: 'PO-9' }),
      await http.post('/v1/skus/RST-1/reservations', reserveRst1),
      await http.post('/v1/skus/RST-1/reservations', { reservationId: 'res-done', channel: 'shop', quantity: 3 }),
      await http.post('/v1/skus/RST-1/reservations/res-done/commit'),
      await http.post('/v1/skus/RST-1/sales', { saleId: 'sale-1', channel: 'web', quantity: 2 }),
      await http.post('/v1/skus/RST-1/adjustments', { adjustmentId: 'adj-1', location: 'wh-2', countedQuantity: 6, reason: 'cycle_count' }),
      await http.post('/v1/skus/RST-1/returns', { returnId: 'ret-1', location: 'wh-1', quantity: 2, orderRef: 'order-1' }),
      await http.post('/v1/skus/RST-2/receipts', { receiptId: 'rc-1', location: 'wh-1', quantity: 5 }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 201, 201, 201, 201, 200, 201, 201, 201, 201]);
    before = await snapshot(http);
    expect(before.ledgers['RST-1']).toHaveLength(8);
    expect((before.skus['RST-1'] as { totals: unknown }).totals).toEqual({ onHand: 24, reserved: 4, available: 20, pendingInspection: 2, shortfall: 0, writtenOff: 0 });
    await stop();
  });

  it('after the restart: the same counts, ledgers and channels', async () => {
    const http = await start();
    expect(await snapshot(http)).toEqual(before);
  });

  it('repeats of commands from before the restart are still recognised', async () => {
    const http = client as HttpClient;
    const again = await http.post('/v1/skus/RST-1/reservations', reserveRst1);
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const conflict = await http.post('/v1/skus/RST-1/receipts', { receiptId: 'rc-1', location: 'wh-1', quantity: 21 });
    expect(conflict.body.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(await readLedger(http, 'RST-1')).toEqual(before.ledgers['RST-1']);
  });

  it('new commands continue the same streams and the same hash chain', async () => {
    const http = client as HttpClient;
    const answers = [
      await http.post('/v1/skus/RST-1/reservations/res-held/commit'),
      await http.post('/v1/skus/RST-1/returns/ret-1/inspection', { restockQuantity: 2, writeOffQuantity: 0 }),
      await http.post('/v1/skus/RST-2/reservations', { reservationId: 'res-1', channel: 'shop', quantity: 1 }),
      await http.post('/v1/skus/RST-2/reservations', { reservationId: 'res-2', channel: 'web', quantity: 5 }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 409, 201]);
    // Channel settings survived too: shop draws only on wh-2, which RST-2 has none of.
    expect(answers[2].body).toMatchObject({ code: 'INSUFFICIENT_STOCK', details: { available: 0 } });
    for (const sku of SKUS) {
      const old = before.ledgers[sku];
      const now = await readLedger(http, sku);
      expect(now.slice(0, old.length)).toEqual(old);
      expect(now.length).toBeGreaterThan(old.length);
      const firstNew = now[old.length];
      expect(firstNew.revision).toBe(old.length);
      expect(firstNew.metadata.prevHash).toBe(old[old.length - 1].metadata.hash);
      expect(firstNew.position).toBeGreaterThan(old[old.length - 1].position);
      expectUnbrokenChain(now);
    }
    const rst1 = await readLedger(http, 'RST-1');
    expect(rst1.slice(-2).map((event) => event.type)).toEqual([EventTypes.ReservationCommitted, EventTypes.ReturnInspected]);
    expect((await http.get('/v1/skus/RST-1')).body.totals).toEqual({ onHand: 22, reserved: 0, available: 22, pendingInspection: 0, shortfall: 0, writtenOff: 0 });
  });

  it('a second restart keeps what was written after the first', async () => {
    const after = await snapshot(client as HttpClient);
    await stop();
    const http = await start();
    expect(await snapshot(http)).toEqual(after);
  });
});
