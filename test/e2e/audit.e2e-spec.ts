import { ManualClock } from '@ledger/platform';
import { createClient, type HttpClient } from '../support/http';
import { startTestApp, type TestApp } from '../support/test-app';

const TOKENS = {
  ops: 'ops-Audit0Ops0Token0123',
  service: 'svc-Audit0Svc0Token0123',
  auditor: 'aud-Audit0Aud0Token0123',
};
const SKU = 'AUD-1';
const OTHER = 'AUD-2';
const T0 = Date.parse('2026-03-01T08:00:00.000Z');
const DAY = 86_400;

interface Snapshot {
  at: string;
  live: any;
}

describe('audit API: replayed balances, ledger, movements, stock report, verify', () => {
  const clock = new ManualClock(T0);
  let testApp: TestApp;
  let ops: HttpClient;
  let auditor: HttpClient;
  const snapshots: Snapshot[] = [];

  /** Runs a step at the current manual time, then records what the live API says right after it. */
  async function step(advanceSeconds: number, run: () => Promise<{ status: number; text: string }>, expected = [200, 201]) {
    clock.advance(advanceSeconds * 1000);
    const answer = await run();
    if (!expected.includes(answer.status)) throw new Error(`step answered ${answer.status}: ${answer.text}`);
    const live = await ops.get(`/v1/skus/${SKU}`);
    if (live.status === 200) snapshots.push({ at: new Date(clock.now()).toISOString(), live: live.body });
  }

  beforeAll(async () => {
    testApp = await startTestApp({
      clock,
      // The JSON form: the names chosen here are what the ledger records as actors.
      env: { LEDGER_API_TOKENS: JSON.stringify(Object.entries(TOKENS).map(([role, token]) => ({ name: `${role}-1`, role, token }))) },
    });
    ops = createClient(testApp.url, { token: TOKENS.ops });
    auditor = ops.as(TOKENS.auditor);
    const s = `/v1/skus/${SKU}`;
    const headers = { 'X-Correlation-Id': 'order-77' };
    await step(0, () => ops.put('/v1/channels/web', { locations: ['wh-1', 'wh-2'] }));
    await step(0, () => ops.put('/v1/channels/market', { locations: ['wh-2'] }));
    await step(60, () => ops.post(`${s}/receipts`, { receiptId: 'rc-1', location: 'wh-1', quantity: 20, reference: 'PO-1' }));
    await step(60, () => ops.post(`${s}/receipts`, { receiptId: 'rc-2', location: 'wh-2', quantity: 8 }));
    await step(60, () => ops.post(`${s}/reservations`, { reservationId: 'h-1', channel: 'web', quantity: 5, ttlSeconds: DAY }, { headers }));
    await step(60, () => ops.post(`${s}/reservations/h-1/commit`, undefined, { headers }));
    await step(60, () => ops.post(`${s}/reservations`, { reservationId: 'h-2', channel: 'market', quantity: 6, ttlSeconds: DAY }));
    await step(60, () => ops.post(`${s}/sales`, { saleId: 'sale-1', channel: 'web', quantity: 4 }));
    await step(60, () => ops.post(`${s}/returns`, { returnId: 'ret-1', location: 'wh-1', quantity: 3 }));
    await step(60, () => ops.post(`${s}/returns/ret-1/inspection`, { restockQuantity: 2, writeOffQuantity: 1 }));
    // A count finds wh-2 short of what market holds: a shortfall.
    await step(60, () => ops.post(`${s}/adjustments`, { adjustmentId: 'cnt-1', location: 'wh-2', countedQuantity: 4, reason: 'cycle_count' }));
    // Channel set-up changes mid-history: balances before it must still show the old set-up.
    await step(60, () => ops.put('/v1/channels/market', { locations: ['wh-1', 'wh-2'] }));
    await step(60, () => ops.post(`${s}/reservations/h-2/release`, { reason: 'cancelled' }));
    await step(60, () => ops.post(`${s}/adjustments`, { adjustmentId: 'adj-1', location: 'wh-1', delta: -2, reason: 'damage' }));
    await step(60, () => ops.post(`${s}/receipts`, { receiptId: 'rc-3', location: 'wh-2', quantity: 10 }));
    await step(60, () => ops.post(`/v1/skus/${OTHER}/receipts`, { receiptId: 'o-1', location: 'wh-3', quantity: 7 }));
  });

  afterAll(async () => {
    ops?.close();
    await testApp?.close();
  });

  it('balance at each moment equals what the live API reported then', async () => {
    expect(snapshots.length).toBeGreaterThan(10);
    for (const { at, live } of snapshots) {
      const answer = await auditor.get(`/v1/skus/${SKU}/balance?at=${encodeURIComponent(at)}`);
      expect(answer.status).toBe(200);
      expect({ at, revision: answer.body.revision, totals: answer.body.totals, locations: answer.body.locations }).toEqual({
        at,
        revision: live.revision,
        totals: live.totals,
        locations: live.locations,
      });
      const channels = Object.fromEntries(Object.entries(answer.body.channels).map(([channel, view]: [string, any]) => [channel, { available: view.available }]));
      expect({ at, channels }).toEqual({ at, channels: live.channels });
    }
  });

  it('balance by revision equals the live answer at that revision, in a zone other than UTC too', async () => {
    for (const { live } of snapshots) {
      const answer = await auditor.get(`/v1/skus/${SKU}/balance?revision=${live.revision}`);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ revision: live.revision, totals: live.totals, locations: live.locations });
    }
    const [early] = snapshots.filter((snapshot) => snapshot.live.revision === 0);
    const inParis = new Date(Date.parse(early.at) + 3600_000).toISOString().replace('Z', '+01:00').replace(/\.\d{3}/, '');
    const answer = await auditor.get(`/v1/skus/${SKU}/balance?at=${encodeURIComponent(inParis)}`);
    expect(answer.body).toMatchObject({ revision: 0, totals: early.live.totals, at: early.at });
    const before = await auditor.get(`/v1/skus/${SKU}/balance?at=2026-03-01`);
    expect(before.body).toMatchObject({ revision: -1, totals: { onHand: 0, reserved: 0, available: 0 }, locations: {} });
  });

  it('shows the ledger with deltas, running balance and who did it', async () => {
    const answer = await auditor.get(`/v1/skus/${SKU}/ledger?limit=1000`);
    expect(answer.status).toBe(200);
    const { events, currentRevision, nextFromRevision } = answer.body;
    expect(events).toHaveLength(currentRevision + 1);
    expect(nextFromRevision).toBeNull();
    expect(events[0]).toMatchObject({
      revision: 0,
      type: 'inventory.stock-received.v1',
      actor: 'ops-1',
      role: 'ops',
      change: { onHand: 20, reserved: 0, available: 20 },
      balance: { onHand: 20, reserved: 0, available: 20 },
      data: { receiptId: 'rc-1', reference: 'PO-1' },
    });
    expect(events[0].metadata.hash).toMatch(/^[0-9a-f]{64}$/);
    const commit = events.find((entry: any) => entry.type === 'inventory.reservation-committed.v1');
    expect(commit).toMatchObject({ correlationId: 'order-77', change: { onHand: -5, reserved: -5, available: 0 } });
    // The running balance after the last event is the live figure.
    const last = snapshots[snapshots.length - 1].live;
    expect(events[events.length - 1].balance).toEqual(last.totals);

    const paged = await auditor.get(`/v1/skus/${SKU}/ledger?fromRevision=2&limit=3`);
    expect(paged.body.events.map((entry: any) => entry.revision)).toEqual([2, 3, 4]);
    expect(paged.body.nextFromRevision).toBe(5);
    expect(paged.body.events).toEqual(events.slice(2, 5));

    const receipts = await auditor.get(`/v1/skus/${SKU}/ledger?types=stock-received,inventory.stock-adjusted.v1`);
    expect(receipts.body.events.map((entry: any) => entry.data.receiptId ?? entry.data.adjustmentId)).toEqual(['rc-1', 'rc-2', 'cnt-1', 'adj-1', 'rc-3']);
    const window = await auditor.get(`/v1/skus/${SKU}/ledger?from=${snapshots[4].at}&to=${snapshots[6].at}`);
    expect(window.body.events.length).toBeGreaterThan(0);
    for (const entry of window.body.events) expect(entry.occurredAt >= snapshots[4].at && entry.occurredAt <= snapshots[6].at).toBe(true);
  });

  it('reports movements for a period that balance, opening and closing as the balance says', async () => {
    const from = snapshots[2].at; // right after the hold h-1, before its commit
    const to = snapshots[snapshots.length - 2].at;
    const answer = await auditor.get(`/v1/skus/${SKU}/movements?from=${from}&to=${to}`);
    expect(answer.status).toBe(200);
    const report = answer.body;
    expect(report.balanced).toBe(true);
    const opening = await auditor.get(`/v1/skus/${SKU}/balance?at=${from}`);
    const closing = await auditor.get(`/v1/skus/${SKU}/balance?at=${to}`);
    expect(report.opening).toMatchObject(opening.body.totals);
    expect(report.closing).toMatchObject(closing.body.totals);
    expect(report.movements).toMatchObject({ sales: { committed: 5, direct: 4, total: 9 }, returnsRestocked: 2, writeOffs: 1 });
    expect(report.opening.onHand + report.movements.receipts + report.movements.returnsRestocked - report.movements.sales.total + report.movements.adjustments.net).toBe(report.closing.onHand);
  });

  it('streams stock of every SKU as of a moment, as CSV and as JSON lines', async () => {
    const csv = await auditor.get('/v1/reports/stock');
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    const lines = csv.text.trimEnd().split('\n');
    expect(lines[0]).toBe('sku,location,onHand,reserved,available,pendingInspection,shortfall,writtenOff');
    const last = snapshots[snapshots.length - 1].live;
    const w1 = last.locations['wh-1'];
    expect(lines).toContain(`${SKU},wh-1,${w1.onHand},${w1.reserved},${w1.available},${w1.pendingInspection},${w1.shortfall},${w1.writtenOff}`);
    expect(lines).toContain(`${OTHER},wh-3,7,0,7,0,0,0`);
    expect(lines).toHaveLength(4);

    const moment = snapshots[6];
    const json = await auditor.get(`/v1/reports/stock?at=${moment.at}&format=json&location=wh-2`);
    expect(json.headers['content-type']).toMatch(/application\/x-ndjson/);
    const rows = json.text.trimEnd().split('\n').map((line) => JSON.parse(line));
    const { available, onHand, reserved, pendingInspection, shortfall, writtenOff } = moment.live.locations['wh-2'];
    expect(rows).toEqual([{ sku: SKU, location: 'wh-2', onHand, reserved, available, pendingInspection, shortfall, writtenOff }]);
  });

  it('verifies every hash chain and invariant, or one SKU', async () => {
    const all = await auditor.get('/v1/audit/verify');
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ ok: true, totalBreaks: 0, firstBreak: null, skuStreams: 2, streams: 3 });
    const one = await auditor.get(`/v1/audit/verify?sku=${SKU}`);
    expect(one.body).toMatchObject({ ok: true, sku: SKU, streams: 1, events: snapshots[snapshots.length - 1].live.revision + 1 });
    expect((await auditor.get('/v1/audit/verify?sku=NOPE')).status).toBe(404);
  });

  it('lets the auditor read every audit route and change nothing', async () => {
    const reads = [
      `/v1/skus/${SKU}/balance`,
      `/v1/skus/${SKU}/ledger`,
      `/v1/skus/${SKU}/movements?from=2026-03-01&to=2026-03-02`,
      '/v1/reports/stock?format=json',
      '/v1/audit/verify',
    ];
    for (const path of reads) expect({ path, status: (await auditor.get(path)).status }).toEqual({ path, status: 200 });
    for (const path of reads) expect({ path, status: (await auditor.get(path, { token: null })).status }).toEqual({ path, status: 401 });
    const s = `/v1/skus/${SKU}`;
    const writes: [string, string, unknown][] = [
      ['POST', `${s}/receipts`, { receiptId: 'aud-rc', location: 'wh-1', quantity: 1 }],
      ['POST', `${s}/adjustments`, { adjustmentId: 'aud-adj', location: 'wh-1', delta: 1, reason: 'correction' }],
      ['POST', `${s}/reservations`, { reservationId: 'aud-h', channel: 'web', quantity: 1 }],
      ['POST', `${s}/reservations/h-1/commit`, undefined],
      ['POST', `${s}/reservations/h-2/release`, { reason: 'cancelled' }],
      ['POST', `${s}/sales`, { saleId: 'aud-sale', channel: 'web', quantity: 1 }],
      ['POST', `${s}/returns`, { returnId: 'aud-ret', location: 'wh-1', quantity: 1 }],
      ['POST', `${s}/returns/ret-1/inspection`, { restockQuantity: 1, writeOffQuantity: 0 }],
      ['PUT', '/v1/channels/web', { locations: ['wh-1'] }],
    ];
    const before = (await auditor.get('/v1/audit/verify')).body.events;
    for (const [method, path, body] of writes) {
      const answer = await auditor.request(method, path, { body });
      expect({ method, path, status: answer.status, code: answer.body?.code }).toEqual({ method, path, status: 403, code: 'FORBIDDEN' });
    }
    for (const path of ['/v1/skus/AUD-1/balance', '/v1/audit/verify', '/v1/reports/stock']) {
      expect((await auditor.request('POST', path, { body: {} })).status).toBe(404);
    }
    expect((await auditor.get('/v1/audit/verify')).body.events).toBe(before);
  });

  it('refuses bad queries with VALIDATION_FAILED naming the field', async () => {
    const cases: [string, string][] = [
      [`/v1/skus/${SKU}/balance?at=yesterday`, 'at'],
      [`/v1/skus/${SKU}/balance?at=2026-02-30`, 'at'],
      [`/v1/skus/${SKU}/balance?at=2026-03-01T10:00:00`, 'at'],
      [`/v1/skus/${SKU}/balance?revision=-1`, 'revision'],
      [`/v1/skus/${SKU}/balance?at=2026-03-01&revision=2`, 'revision'],
      [`/v1/skus/${SKU}/ledger?from=nope`, 'from'],
      [`/v1/skus/${SKU}/ledger?to=2026-13-01`, 'to'],
      [`/v1/skus/${SKU}/ledger?types=stock-stolen`, 'types'],
      [`/v1/skus/${SKU}/ledger?limit=0`, 'limit'],
      [`/v1/skus/${SKU}/ledger?from=2026-03-02&to=2026-03-01`, 'to'],
      [`/v1/skus/${SKU}/movements?from=2026-03-01`, 'to'],
      [`/v1/skus/${SKU}/movements?from=01/03/2026&to=2026-03-02`, 'from'],
      [`/v1/skus/${SKU}/movements?from=2026-03-02&to=2026-03-01`, 'to'],
      ['/v1/reports/stock?at=tomorrow', 'at'],
      ['/v1/reports/stock?format=xml', 'format'],
      ['/v1/reports/stock?location=bad%20place', 'location'],
      ['/v1/audit/verify?sku=bad%20sku', 'sku'],
      ['/v1/audit/verify?everything=1', 'everything'],
    ];
    for (const [path, field] of cases) {
      const answer = await auditor.get(path);
      expect({ path, status: answer.status, code: answer.body?.code, fields: answer.body?.details?.fields?.map((f: any) => f.field) }).toEqual({
        path,
        status: 400,
        code: 'VALIDATION_FAILED',
        fields: [field],
      });
    }
    const unknown = await auditor.get('/v1/skus/NOPE/balance');
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('SKU_NOT_FOUND');
    const beyond = await auditor.get(`/v1/skus/${SKU}/balance?revision=999`);
    expect(beyond.status).toBe(404);
    expect(beyond.body.code).toBe('REVISION_NOT_FOUND');
  });
});
