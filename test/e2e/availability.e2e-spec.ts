import request from 'supertest';
import { openSse } from '../support/sse';
import { startTestApp, type TestApp } from '../support/test-app';

describe('availability reads and the SSE stream', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
    const http = request(app.url);
    await http.put('/v1/channels/amazon').send({ locations: ['wh-1'] }).expect(200);
    await http.put('/v1/channels/shopify').send({ locations: [] }).expect(200);
    await http.post('/v1/skus/TEE-M/receipts').send({ receiptId: 'r-1', location: 'wh-1', quantity: 10 }).expect(201);
    await http.post('/v1/skus/TEE-M/receipts').send({ receiptId: 'r-2', location: 'wh-2', quantity: 5 }).expect(201);
  });
  afterAll(async () => app.close());

  it('a reservation reaches GET availability and the stream with the revision of the reserving event', async () => {
    const stream = await openSse(`${app.url}/v1/availability/stream?sku=TEE-M`);
    const reserved = await request(app.url).post('/v1/skus/TEE-M/reservations').send({ reservationId: 'res-1', channel: 'amazon', quantity: 4 }).expect(201);
    const { revision, position } = reserved.body;

    const read = await request(app.url).get(`/v1/skus/TEE-M/availability?minPosition=${position}`).expect(200);
    expect(read.body.channels).toEqual([
      expect.objectContaining({ channel: 'amazon', available: 6, revision }),
      expect.objectContaining({ channel: 'shopify', available: 11, revision }),
    ]);

    const amazon = await stream.next((event) => event.event === 'availability' && JSON.parse(event.data).channel === 'amazon');
    expect(JSON.parse(amazon.data)).toMatchObject({ sku: 'TEE-M', channel: 'amazon', available: 6, revision, position });
    expect(amazon.id).toBe(String(position));
    const shopify = await stream.next((event) => event.event === 'availability' && JSON.parse(event.data).channel === 'shopify');
    expect(JSON.parse(shopify.data)).toMatchObject({ available: 11, revision });
    stream.close();
  });

  it('resumes after Last-Event-ID with exactly the changes that came later', async () => {
    const before = await request(app.url).post('/v1/skus/TEE-M/reservations').send({ reservationId: 'res-2', channel: 'shopify', quantity: 1 }).expect(201);
    const after = await request(app.url).post('/v1/skus/TEE-M/reservations').send({ reservationId: 'res-3', channel: 'shopify', quantity: 2 }).expect(201);
    await request(app.url).get(`/v1/skus/TEE-M/availability?minPosition=${after.body.position}`).expect(200);
    const stream = await openSse(`${app.url}/v1/availability/stream?channel=shopify`, { 'Last-Event-ID': String(before.body.position) });
    const resumed = await stream.next((event) => event.event === 'availability');
    expect(JSON.parse(resumed.data)).toMatchObject({ channel: 'shopify', available: 8, revision: after.body.revision });
    expect(stream.events.filter((event) => event.event === 'availability')).toHaveLength(1);
    stream.close();
  });

  it('serves a channel page for a full resync, and refuses bad cursors and positions', async () => {
    const page = await request(app.url).get('/v1/channels/amazon/availability?limit=10').expect(200);
    expect(page.body.items).toEqual([expect.objectContaining({ sku: 'TEE-M' })]);
    await request(app.url).get('/v1/reservations?cursor=not-a-cursor').expect(400);
    await request(app.url).get('/v1/availability/stream').set('Last-Event-ID', 'abc').expect(400);
  });

  it('answers 503 with Retry-After when asked to wait for a position the ledger has not reached', async () => {
    const response = await request(app.url).get('/v1/skus/TEE-M/availability?minPosition=999999').expect(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.body.code).toBe('NOT_YET_CONSISTENT');
  });
});
