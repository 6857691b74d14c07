import { runFlashSale } from '../support/flash-sale';
import { createClient } from '../support/http';
import { startTestApp, type TestApp } from '../support/test-app';

const OPS_TOKEN = 'ops-flash-sale-token-0001';

describe('flash sale: 1,000 concurrent holds on one SKU over HTTP', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await startTestApp({ env: { LEDGER_API_TOKENS: `ops:${OPS_TOKEN}` } });
  });
  afterAll(async () => testApp.close());

  it('holds exactly the holdable units, refuses the rest with INSUFFICIENT_STOCK, and the ledger replays to the same state', async () => {
    const report = await runFlashSale({ baseUrl: testApp.url, token: OPS_TOKEN, runId: 'e2e', requests: 1_000 });
    expect(report.holdable).toBe(100);
    expect(report.accepted.length).toBeGreaterThan(0);
    expect(report.refused).toBe(1_000 - report.accepted.length);

    // The process still serves, and a second sale on the same SKU finds nothing left.
    const client = createClient(testApp.url, { token: OPS_TOKEN });
    try {
      const late = await client.post(`/v1/skus/${report.sku}/reservations`, { reservationId: 'late-1', channel: 'web-e2e', quantity: 1 });
      expect(late.status).toBe(409);
      expect(late.body).toMatchObject({ code: 'INSUFFICIENT_STOCK', details: { available: 0 } });
    } finally {
      client.close();
    }
  });
});
