import { EventTypes } from '@ledger/domain';
import { createClient, currentRevision, readLedger, type HttpClient, type HttpResponse } from '../support/http';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * Sending a command again with the same id is safe: the same payload gets the first answer and
 * appends nothing; another payload is refused. Each command below is sent, then sent again at once.
 */
const SKU = 'IDEM-1';
const base = `/v1/skus/${SKU}`;

interface Command {
  name: string;
  path: string;
  body?: Record<string, unknown>;
  status: number;
  /** Same id, other payloads: each is 409 IDEMPOTENCY_CONFLICT. */
  conflicts: Record<string, unknown>[];
}

const COMMANDS: Command[] = [
  {
    name: 'receipt',
    path: `${base}/receipts`,
    body: { receiptId: 'rc-1', location: 'wh-1', quantity: 50, reference: 'PO-1' },
    status: 201,
    conflicts: [
      { receiptId: 'rc-1', location: 'wh-1', quantity: 51, reference: 'PO-1' },
      { receiptId: 'rc-1', location: 'wh-2', quantity: 50, reference: 'PO-1' },
      { receiptId: 'rc-1', location: 'wh-1', quantity: 50 },
    ],
  },
  {
    name: 'adjustment by delta',
    path: `${base}/adjustments`,
    body: { adjustmentId: 'adj-1', location: 'wh-1', delta: -2, reason: 'damage' },
    status: 201,
    conflicts: [
      { adjustmentId: 'adj-1', location: 'wh-1', delta: -3, reason: 'damage' },
      { adjustmentId: 'adj-1', location: 'wh-1', delta: -2, reason: 'shrinkage' },
      { adjustmentId: 'adj-1', location: 'wh-1', countedQuantity: 48, reason: 'damage' },
    ],
  },
  {
    name: 'adjustment by count',
    path: `${base}/adjustments`,
    body: { adjustmentId: 'adj-2', location: 'wh-1', countedQuantity: 47, reason: 'cycle_count' },
    status: 201,
    conflicts: [
      { adjustmentId: 'adj-2', location: 'wh-1', countedQuantity: 46, reason: 'cycle_count' },
      { adjustmentId: 'adj-2', location: 'wh-1', delta: 0, reason: 'cycle_count' },
    ],
  },
  {
    name: 'reservation',
    path: `${base}/reservations`,
    body: { reservationId: 'res-1', channel: 'web', quantity: 5, ttlSeconds: 600, orderRef: 'order-1' },
    status: 201,
    conflicts: [
      { reservationId: 'res-1', channel: 'web', quantity: 6, ttlSeconds: 600, orderRef: 'order-1' },
      { reservationId: 'res-1', channel: 'shop', quantity: 5, ttlSeconds: 600, orderRef: 'order-1' },
      { reservationId: 'res-1', channel: 'web', quantity: 5, ttlSeconds: 601, orderRef: 'order-1' },
      { reservationId: 'res-1', channel: 'web', quantity: 5, ttlSeconds: 600 },
    ],
  },
  { name: 'commit', path: `${base}/reservations/res-1/commit`, status: 200, conflicts: [] },
  {
    name: 'reservation with the default TTL',
    path: `${base}/reservations`,
    body: { reservationId: 'res-2', channel: 'web', quantity: 4 },
    status: 201,
    conflicts: [{ reservationId: 'res-2', channel: 'web', quantity: 4, ttlSeconds: 60 }],
  },
  { name: 'release', path: `${base}/reservations/res-2/release`, body: { reason: 'cancelled' }, status: 200, conflicts: [] },
  {
    name: 'sale',
    path: `${base}/sales`,
    body: { saleId: 'sale-1', channel: 'web', quantity: 3 },
    status: 201,
    conflicts: [
      { saleId: 'sale-1', channel: 'web', quantity: 4 },
      { saleId: 'sale-1', channel: 'shop', quantity: 3 },
    ],
  },
  {
    name: 'return',
    path: `${base}/returns`,
    body: { returnId: 'ret-1', location: 'wh-1', quantity: 2, orderRef: 'order-1', channel: 'web' },
    status: 201,
    conflicts: [
      { returnId: 'ret-1', location: 'wh-1', quantity: 3, orderRef: 'order-1', channel: 'web' },
      { returnId: 'ret-1', location: 'wh-1', quantity: 2, orderRef: 'order-2', channel: 'web' },
      { returnId: 'ret-1', location: 'wh-1', quantity: 2, orderRef: 'order-1' },
    ],
  },
  {
    name: 'inspection',
    path: `${base}/returns/ret-1/inspection`,
    body: { restockQuantity: 1, writeOffQuantity: 1 },
    status: 200,
    conflicts: [{ restockQuantity: 2, writeOffQuantity: 0 }],
  },
];

/** The command's own answer, without the ledger coordinates that say where the stream is now. */
function result(response: HttpResponse): Record<string, unknown> {
  const { revision: _revision, position: _position, ...rest } = response.body;
  return rest;
}

describe('idempotency over HTTP', () => {
  let testApp: TestApp;
  let client: HttpClient;
  const first = new Map<string, HttpResponse>();

  beforeAll(async () => {
    testApp = await startTestApp();
    client = createClient(testApp.url, { maxSockets: 64 });
    expect((await client.put('/v1/channels/web', { locations: ['wh-1'] })).status).toBe(200);
  });

  afterAll(async () => {
    client.close();
    await testApp.close();
  });

  describe.each(COMMANDS.map((command) => [command.name, command] as const))('%s', (_name, command) => {
    it('the first time: appends and answers without the replay header', async () => {
      const before = await currentRevision(client, SKU);
      const response = await client.post(command.path, command.body);
      expect(response.status).toBe(command.status);
      expect(response.headers['idempotent-replayed']).toBeUndefined();
      expect(await currentRevision(client, SKU)).toBeGreaterThan(before);
      first.set(command.name, response);
    });

    it('again with the same payload: the same status and body, Idempotent-Replayed: true, nothing appended', async () => {
      const ledger = await readLedger(client, SKU);
      const again = await client.post(command.path, command.body);
      const original = first.get(command.name) as HttpResponse;
      expect(again.status).toBe(original.status);
      expect(again.body).toEqual(original.body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(await readLedger(client, SKU)).toEqual(ledger);
    });

    if (command.conflicts.length > 0) {
      it.each(command.conflicts.map((body) => [JSON.stringify(body), body] as const))('same id, other payload %s: 409 IDEMPOTENCY_CONFLICT, nothing appended', async (_label, body) => {
        const before = await currentRevision(client, SKU);
        const conflict = await client.post(command.path, body);
        expect(conflict.status).toBe(409);
        expect(conflict.body.code).toBe('IDEMPOTENCY_CONFLICT');
        expect(await currentRevision(client, SKU)).toBe(before);
      });
    }
  });

  it('every command repeated after later commands still gets its first answer and appends nothing', async () => {
    const ledger = await readLedger(client, SKU);
    for (const command of COMMANDS) {
      const again = await client.post(command.path, command.body);
      const original = first.get(command.name) as HttpResponse;
      expect({ name: command.name, status: again.status, replayed: again.headers['idempotent-replayed'], result: result(again) }).toEqual({
        name: command.name,
        status: original.status,
        replayed: 'true',
        result: result(original),
      });
    }
    expect(await readLedger(client, SKU)).toEqual(ledger);
  });

  it('commit of a released hold: 409 INVALID_STATE; release of a committed one: 409 INVALID_STATE', async () => {
    const before = await currentRevision(client, SKU);
    const commit = await client.post(`${base}/reservations/res-2/commit`);
    expect(commit.status).toBe(409);
    expect(commit.body).toMatchObject({ code: 'INVALID_STATE', details: { status: 'released' } });
    const release = await client.post(`${base}/reservations/res-1/release`, {});
    expect(release.status).toBe(409);
    expect(release.body).toMatchObject({ code: 'INVALID_STATE', details: { status: 'committed' } });
    expect(await currentRevision(client, SKU)).toBe(before);
  });

  it('unknown reservation or return: 404, on a known SKU and on one that never existed, and no stream is created', async () => {
    const cases: [string, Record<string, unknown> | undefined, string][] = [
      [`${base}/reservations/nope/commit`, undefined, 'RESERVATION_NOT_FOUND'],
      [`${base}/reservations/nope/release`, {}, 'RESERVATION_NOT_FOUND'],
      [`${base}/returns/nope/inspection`, { restockQuantity: 1, writeOffQuantity: 0 }, 'RETURN_NOT_FOUND'],
      ['/v1/skus/NEVER-1/reservations/res-1/commit', undefined, 'RESERVATION_NOT_FOUND'],
      ['/v1/skus/NEVER-1/reservations/res-1/release', { reason: 'cancelled' }, 'RESERVATION_NOT_FOUND'],
      ['/v1/skus/NEVER-1/returns/ret-1/inspection', { restockQuantity: 1, writeOffQuantity: 0 }, 'RETURN_NOT_FOUND'],
    ];
    const before = await currentRevision(client, SKU);
    for (const [path, body, code] of cases) {
      const response = await client.post(path, body);
      expect({ path, status: response.status, code: response.body.code }).toEqual({ path, status: 404, code });
    }
    expect(await currentRevision(client, SKU)).toBe(before);
    expect((await client.get('/v1/skus/NEVER-1')).body.code).toBe('SKU_NOT_FOUND');
    expect(await currentRevision(client, 'NEVER-1')).toBe(-1);
  });

  it('50 concurrent copies of one reservation: one StockReserved, one first answer, 49 replays of it', async () => {
    const body = { reservationId: 'res-burst', channel: 'web', quantity: 2, ttlSeconds: 900 };
    const answers = await Promise.all(Array.from({ length: 50 }, () => client.post(`${base}/reservations`, body)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(50).fill(201));
    expect(answers.filter((answer) => answer.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    expect(new Set(answers.map((answer) => JSON.stringify(result(answer)))).size).toBe(1);
    const reserved = (await readLedger(client, SKU)).filter((event) => event.type === EventTypes.StockReserved && event.data.reservationId === 'res-burst');
    expect(reserved).toHaveLength(1);
  });

  it('50 concurrent copies of one sale id with two payloads: one StockSold, the rest replays or IDEMPOTENCY_CONFLICT', async () => {
    const bodies = Array.from({ length: 50 }, (_, index) => ({ saleId: 'sale-burst', channel: 'web', quantity: 1 + (index % 2) }));
    const answers = await Promise.all(bodies.map((body) => client.post(`${base}/sales`, body)));
    const sold = (await readLedger(client, SKU)).filter((event) => event.type === EventTypes.StockSold && event.data.saleId === 'sale-burst');
    expect(sold).toHaveLength(1);
    const winner = sold[0].data.quantity as number;
    answers.forEach((answer, index) => {
      if (bodies[index].quantity === winner) expect({ status: answer.status, quantity: answer.body.quantity }).toEqual({ status: 201, quantity: winner });
      else expect({ status: answer.status, code: answer.body.code }).toEqual({ status: 409, code: 'IDEMPOTENCY_CONFLICT' });
    });
    expect(answers.filter((answer) => answer.status === 201 && answer.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
  });

  it('the ledger holds one event per command id and nothing else', async () => {
    const ledger = await readLedger(client, SKU);
    expect(ledger.map((event) => event.type)).toEqual([
      EventTypes.StockReceived,
      EventTypes.StockAdjusted,
      EventTypes.StockAdjusted,
      EventTypes.StockReserved,
      EventTypes.ReservationCommitted,
      EventTypes.StockReserved,
      EventTypes.ReservationReleased,
      EventTypes.StockSold,
      EventTypes.ReturnReceived,
      EventTypes.ReturnInspected,
      EventTypes.StockReserved,
      EventTypes.StockSold,
    ]);
  });
});
