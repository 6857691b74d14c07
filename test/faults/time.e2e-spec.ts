import { ExpirySweeper } from '@ledger/core';
import { EventTypes } from '@ledger/domain';
import { ManualClock } from '@ledger/platform';
import { createClient, readLedger, type HttpClient, type LedgerEntry } from '../support/http';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * Holds expire exactly by their TTL, on a ManualClock: the millisecond before expiresAt a hold still
 * holds and blocks; at expiresAt a sale may take its units (the hold is released in the sale's own
 * append); the sweeper releases the rest on its pass. Neither ever releases a committed hold, and a
 * commit that comes too late is refused and records the expiry.
 */
const SKU = 'TIME-1';
const s = `/v1/skus/${SKU}`;
const SECOND = 1_000;

describe('time: holds expire exactly by their TTL', () => {
  const clock = new ManualClock();
  let testApp: TestApp;
  let http: HttpClient;
  let sweeper: ExpirySweeper;

  const at = (epochMs: number) => clock.set(epochMs);
  const ledger = () => readLedger(http, SKU);
  const releasesOf = (events: LedgerEntry[], reservationId: string) => events.filter((e) => e.type === EventTypes.ReservationReleased && e.data.reservationId === reservationId);
  async function reservation(reservationId: string, minPosition: number) {
    const page = await http.get(`/v1/reservations?sku=${SKU}&minPosition=${minPosition}&limit=1000`);
    expect(page.status).toBe(200);
    return page.body.items.find((item: { reservationId: string }) => item.reservationId === reservationId);
  }
  async function available(minPosition: number): Promise<number> {
    const answer = await http.get(`${s}/availability?minPosition=${minPosition}`);
    expect(answer.status).toBe(200);
    return answer.body.channels.find((row: { channel: string }) => row.channel === 'web').available;
  }
  async function head(): Promise<number> {
    const events = await ledger();
    return events[events.length - 1].position;
  }
  /** The sweeper works from the reservations read model: let it see every hold first, then run one pass. */
  async function sweep(): Promise<number> {
    await reservation('-', await head());
    return sweeper.sweep();
  }
  async function reserve(reservationId: string, quantity: number, ttlSeconds: number) {
    const answer = await http.post(`${s}/reservations`, { reservationId, channel: 'web', quantity, ttlSeconds });
    expect({ reservationId, status: answer.status }).toEqual({ reservationId, status: 201 });
    return answer.body as { expiresAt: string; position: number };
  }

  beforeAll(async () => {
    // The sweeper's own timer is kept out of the way: each pass below is called exactly when wanted.
    testApp = await startTestApp({ clock, env: { LEDGER_SWEEP_INTERVAL_MS: '3600000' } });
    http = createClient(testApp.url);
    sweeper = testApp.app.get(ExpirySweeper);
    expect((await http.put('/v1/channels/web', { locations: ['wh-1'] })).status).toBe(200);
    expect((await http.post(`${s}/receipts`, { receiptId: 'rc-1', location: 'wh-1', quantity: 10 })).status).toBe(201);
  });

  afterAll(async () => {
    http.close();
    await testApp.close();
  });

  it('one ms before expiresAt the hold still holds and blocks; at expiresAt a sale takes the units, releasing it in the same append', async () => {
    const t0 = clock.now();
    const held = await reserve('res-a', 6, 60);
    expect(held.expiresAt).toBe(new Date(t0 + 60 * SECOND).toISOString());

    at(t0 + 60 * SECOND - 1);
    const blocked = await http.post(`${s}/sales`, { saleId: 'sale-1', channel: 'web', quantity: 5 });
    expect({ status: blocked.status, code: blocked.body.code, available: blocked.body.details?.available }).toEqual({ status: 409, code: 'INSUFFICIENT_STOCK', available: 4 });
    expect(await sweep()).toBe(0);
    expect((await reservation('res-a', await head())).status).toBe('held');
    expect(await available(await head())).toBe(4);
    expect(releasesOf(await ledger(), 'res-a')).toEqual([]);

    at(t0 + 60 * SECOND);
    const before = (await ledger()).length;
    const sold = await http.post(`${s}/sales`, { saleId: 'sale-1', channel: 'web', quantity: 5 });
    expect(sold.status).toBe(201);
    const appended = (await ledger()).slice(before);
    expect(appended.map((e) => [e.type, e.data.reservationId ?? e.data.saleId, e.data.reason])).toEqual([
      [EventTypes.ReservationReleased, 'res-a', 'expired'],
      [EventTypes.StockSold, 'sale-1', undefined],
    ]);
    // One append: consecutive revisions, one recording time, the sale's command as cause of both.
    expect(appended[1].revision).toBe(appended[0].revision + 1);
    expect(appended[1].recordedAt).toBe(appended[0].recordedAt);
    expect(appended[0].metadata.commandId).toBe(appended[1].metadata.commandId);
    expect(appended[0].metadata.occurredAt).toBe(new Date(t0 + 60 * SECOND).toISOString());
    expect((await reservation('res-a', sold.body.position)).status).toBe('expired');
    expect(await available(sold.body.position)).toBe(5);
  });

  it('the sweeper releases expired holds on its pass, exactly at their time, and never a committed one', async () => {
    expect((await http.post(`${s}/receipts`, { receiptId: 'rc-2', location: 'wh-1', quantity: 20 })).status).toBe(201);
    const t1 = clock.now();
    await reserve('res-b', 2, 30);
    await reserve('res-c', 2, 120);
    await reserve('res-d', 2, 30);
    await reserve('res-e', 1, 30);

    at(t1 + 30 * SECOND - 1);
    const committed = await http.post(`${s}/reservations/res-d/commit`);
    expect(committed.status).toBe(200);
    expect(await sweep()).toBe(0);

    at(t1 + 30 * SECOND);
    expect(await sweep()).toBe(2);
    let events = await ledger();
    for (const id of ['res-b', 'res-e']) {
      const [release] = releasesOf(events, id);
      expect({ id, reason: release?.data.reason, actor: release?.metadata.actor, occurredAt: release?.metadata.occurredAt }).toEqual({
        id,
        reason: 'expired',
        actor: 'system:sweeper',
        occurredAt: new Date(t1 + 30 * SECOND).toISOString(),
      });
    }
    expect(releasesOf(events, 'res-c')).toEqual([]);
    expect(await sweep()).toBe(0);

    at(t1 + 120 * SECOND - 1);
    expect(await sweep()).toBe(0);
    at(t1 + 120 * SECOND);
    expect(await sweep()).toBe(1);
    events = await ledger();
    expect(releasesOf(events, 'res-c').map((e) => e.data.reason)).toEqual(['expired']);

    // Long past its TTL the committed hold is still committed: not swept, not lazily released.
    at(t1 + 3_600 * SECOND);
    expect(await sweep()).toBe(0);
    const short = await http.post(`${s}/sales`, { saleId: 'sale-big', channel: 'web', quantity: 1_000 });
    expect(short.body.code).toBe('INSUFFICIENT_STOCK');
    events = await ledger();
    expect(releasesOf(events, 'res-d')).toEqual([]);
    expect((await reservation('res-d', await head())).status).toBe('committed');
    const totals = (await http.get(s)).body.totals;
    expect(totals).toMatchObject({ onHand: 30 - 5 - 2, reserved: 0 });
  });

  it('lazy expiry in a sale releases only expired held holds, never a committed one', async () => {
    const t2 = clock.now();
    await reserve('res-f', 20, 10);
    await reserve('res-g', 3, 10);
    expect((await http.post(`${s}/reservations/res-g/commit`)).status).toBe(200);
    at(t2 + 10 * SECOND);
    const before = (await ledger()).length;
    const sold = await http.post(`${s}/sales`, { saleId: 'sale-2', channel: 'web', quantity: 20 });
    expect(sold.status).toBe(201);
    const appended = (await ledger()).slice(before);
    expect(appended.map((e) => [e.type, e.data.reservationId ?? e.data.saleId])).toEqual([
      [EventTypes.ReservationReleased, 'res-f'],
      [EventTypes.StockSold, 'sale-2'],
    ]);
    expect(releasesOf(await ledger(), 'res-g')).toEqual([]);
  });

  it('a commit after expiry is refused with 409 INVALID_STATE and records the expiry; one ms before, it commits', async () => {
    expect((await http.post(`${s}/receipts`, { receiptId: 'rc-3', location: 'wh-1', quantity: 10 })).status).toBe(201);
    const t3 = clock.now();
    await reserve('res-late', 2, 10);
    await reserve('res-just', 2, 10);

    at(t3 + 10 * SECOND - 1);
    expect((await http.post(`${s}/reservations/res-just/commit`)).status).toBe(200);

    at(t3 + 10 * SECOND);
    const before = (await ledger()).length;
    const late = await http.post(`${s}/reservations/res-late/commit`);
    expect({ status: late.status, code: late.body.code, details: late.body.details }).toEqual({ status: 409, code: 'INVALID_STATE', details: { status: 'expired' } });
    const appended = (await ledger()).slice(before);
    expect(appended.map((e) => [e.type, e.data.reservationId, e.data.reason])).toEqual([[EventTypes.ReservationReleased, 'res-late', 'expired']]);
    expect((await reservation('res-late', appended[0].position)).status).toBe('expired');

    // Asked again: still refused, and nothing more is recorded.
    const again = await http.post(`${s}/reservations/res-late/commit`);
    expect({ status: again.status, code: again.body.code, details: again.body.details }).toEqual({ status: 409, code: 'INVALID_STATE', details: { status: 'expired' } });
    expect((await ledger()).length).toBe(before + 1);
    // And the sweeper has nothing left to do for it.
    expect(await sweep()).toBe(0);
  });
});

describe('time: the sweeper runs on its own timer', () => {
  it('releases a hold soon after the clock passes its expiry, with no sale to do it lazily', async () => {
    const clock = new ManualClock();
    const testApp = await startTestApp({ clock, env: { LEDGER_SWEEP_INTERVAL_MS: '50' } });
    const http = createClient(testApp.url);
    try {
      expect((await http.post('/v1/skus/TIME-2/receipts', { receiptId: 'rc-1', location: 'wh-1', quantity: 5 })).status).toBe(201);
      const held = await http.post('/v1/skus/TIME-2/reservations', { reservationId: 'res-1', channel: 'any', quantity: 5, ttlSeconds: 5 });
      expect(held.status).toBe(201);
      // Passes before the time changes nothing.
      await new Promise((done) => setTimeout(done, 300));
      expect((await readLedger(http, 'TIME-2')).map((e) => e.type)).toEqual([EventTypes.StockReceived, EventTypes.StockReserved]);

      clock.advance(5 * SECOND);
      const deadline = Date.now() + 5_000;
      let events = await readLedger(http, 'TIME-2');
      while (events.length < 3 && Date.now() < deadline) {
        await new Promise((done) => setTimeout(done, 50));
        events = await readLedger(http, 'TIME-2');
      }
      expect(events.slice(2).map((e) => [e.type, e.data.reason, e.metadata.actor])).toEqual([[EventTypes.ReservationReleased, 'expired', 'system:sweeper']]);
      expect((await http.get('/v1/skus/TIME-2')).body.totals).toMatchObject({ onHand: 5, reserved: 0, available: 5 });
    } finally {
      http.close();
      await testApp.close();
    }
  });
});
