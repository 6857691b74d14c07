import request from 'supertest';
import { EsdbEmulator } from '../support/esdb-emulator';
import { runFlashSale } from '../support/flash-sale';
import { startTestApp, type TestApp } from '../support/test-app';

/** The running app on the EventStoreDB adapter, against the gRPC emulator (data kept across outages). */
describe('the service on EventStoreDB (emulator)', () => {
  jest.setTimeout(60_000);
  let emulator: EsdbEmulator;
  let app: TestApp;

  beforeAll(async () => {
    emulator = await EsdbEmulator.start();
    app = await startTestApp({ env: { EVENTSTORE_CONNECTION_STRING: emulator.connectionString } });
  });
  afterAll(async () => {
    await app.close();
    await emulator.stop();
  });

  it('runs the flash sale with zero oversell', async () => {
    const report = await runFlashSale({ baseUrl: app.url, runId: 'esdb' });
    expect(report.accepted.reduce((sum, hold) => sum + hold.quantity, 0)).toBe(report.holdable);
  });

  it('fails fast with 503 while the store is down, flips readiness, and recovers with nothing acknowledged missing', async () => {
    const http = request(app.url);
    await http.post('/v1/skus/OUTAGE-1/receipts').send({ receiptId: 'o-r1', location: 'wh-1', quantity: 1_000 }).expect(201);
    const acknowledged: string[] = [];
    const load = async (prefix: string, count: number) => {
      const results = await Promise.all(
        Array.from({ length: count }, (_, i) =>
          http.post('/v1/skus/OUTAGE-1/reservations').send({ reservationId: `${prefix}-${i}`, channel: 'web', quantity: 1 }),
        ),
      );
      results.forEach((response, i) => response.status === 201 && acknowledged.push(`${prefix}-${i}`));
      return results;
    };

    await load('before', 50);
    // Stop the listener while a burst is in flight: whatever got a 201 must survive.
    const burst = load('mid', 200);
    setTimeout(() => void emulator.stop(), 2);
    await burst;
    await emulator.stop();
    const started = Date.now();
    const during = await load('during', 20);
    expect(Date.now() - started).toBeLessThan(15_000);
    for (const response of during) {
      expect([201, 503]).toContain(response.status);
      if (response.status === 503) {
        expect(response.headers['retry-after']).toBeDefined();
        expect(response.body.code).toBe('STORE_UNAVAILABLE');
      }
    }
    expect(during.filter((response) => response.status === 503).length).toBeGreaterThan(0);
    await http.get('/health/ready').expect(503);

    await emulator.start();
    await waitFor(async () => (await http.get('/health/ready')).status === 200);
    await load('after', 50);
    const ledger = await http.get('/v1/skus/OUTAGE-1/ledger?limit=1000').expect(200);
    const held = new Set(ledger.body.events.filter((e: { type: string }) => e.type === 'inventory.stock-reserved.v1').map((e: { data: { reservationId: string } }) => e.data.reservationId));
    for (const id of acknowledged) expect(held.has(id)).toBe(true);
    expect(acknowledged.filter((id) => id.startsWith('after'))).toHaveLength(50);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
