import request from 'supertest';
import { startTestApp, type TestApp } from '../support/test-app';

describe('walking skeleton over HTTP', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await startTestApp();
  });
  afterAll(async () => testApp.close());

  it('receives, reserves, commits and reads the SKU back', async () => {
    const http = request(testApp.url);
    await http.put('/v1/channels/amazon').send({ locations: ['wh-1'] }).expect(200);
    await http.post('/v1/skus/SKU-1/receipts').send({ receiptId: 'rcpt-1', location: 'wh-1', quantity: 10 }).expect(201);
    const reserved = await http.post('/v1/skus/SKU-1/reservations').send({ reservationId: 'res-1', channel: 'amazon', quantity: 3 }).expect(201);
    expect(reserved.body).toMatchObject({ reservationId: 'res-1', status: 'held', allocations: [{ location: 'wh-1', quantity: 3 }] });
    await http.post('/v1/skus/SKU-1/reservations/res-1/commit').expect(200, /committed/);
    const sku = await http.get('/v1/skus/SKU-1').expect(200);
    expect(sku.body.totals).toMatchObject({ onHand: 7, reserved: 0, available: 7 });
    expect(sku.body.channels.amazon.available).toBe(7);
  });
});
