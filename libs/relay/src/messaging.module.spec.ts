import request from 'supertest';
import { ProjectionManager } from '@ledger/projections';
import { startTestApp, type TestApp } from '@test/test-app';
import { AvailabilityRelay } from './availability-relay';
import { LedgerRelay } from './ledger-relay';
import type { AvailabilityMessage, LedgerEventMessage } from './messages';
import { Messaging } from './messaging';
import { RelayCheckpointStore } from './relay-checkpoints';
import { eventually, Inbox } from './testing/fixtures';

describe('MessagingModule in the app (in-process bus)', () => {
  let app: TestApp;
  let messaging: Messaging;
  let inbox: Inbox;

  beforeAll(async () => {
    app = await startTestApp();
    messaging = app.app.get(Messaging);
    await eventually(() => messaging.connectedNow);
    inbox = await Inbox.on(messaging.bus, [messaging.topics.ledger, messaging.topics.availability]);
    const http = request(app.url);
    await http.put('/v1/channels/amazon').send({ locations: ['wh-1'] }).expect(200);
    await http.post('/v1/skus/TEE-M/receipts').send({ receiptId: 'r-1', location: 'wh-1', quantity: 10 }).expect(201);
  });
  afterAll(async () => {
    await inbox.stop();
    await app.close();
  });

  const availability = () => inbox.of(messaging.topics.availability) as unknown as { key: string; json: AvailabilityMessage }[];
  const ledger = () => inbox.of(messaging.topics.ledger) as unknown as { key: string; json: LedgerEventMessage; headers: Record<string, string> }[];

  it('uses the in-process bus when no Kafka is configured, and relays a reservation to both topics', async () => {
    expect(messaging.kind).toBe('in-process');
    const reserved = await request(app.url).post('/v1/skus/TEE-M/reservations').send({ reservationId: 'res-1', channel: 'amazon', quantity: 4 }).set('X-Correlation-Id', 'corr-res-1').expect(201);
    const { revision, position } = reserved.body;

    await eventually(() => availability().some((message) => message.json.position === position));
    const change = availability().find((message) => message.json.position === position);
    expect(change?.key).toBe('amazon:TEE-M');
    expect(change?.json).toMatchObject({ sku: 'TEE-M', channel: 'amazon', available: 6, revision, position });

    await eventually(() => ledger().some((message) => message.json.position === position));
    const event = ledger().find((message) => message.json.position === position);
    expect(event?.key).toBe('TEE-M');
    expect(event?.headers).toMatchObject({ 'event-type': 'inventory.stock-reserved.v1', 'correlation-id': 'corr-res-1' });
    expect(event?.json).toMatchObject({ type: 'inventory.stock-reserved.v1', sku: 'TEE-M', revision, position, data: expect.objectContaining({ reservationId: 'res-1' }) });
    expect(event?.json.metadata).toMatchObject({ actor: expect.any(String), role: 'ops', correlationId: 'corr-res-1', hash: expect.any(String), prevHash: expect.any(String) });
    const channelEvent = ledger().find((message) => message.key === 'inventory-channels');
    expect(channelEvent?.json.sku).toBeNull();
  });

  it('reports the bus and both relays in readiness, and lag and counts in metrics', async () => {
    const store = app.app.get(RelayCheckpointStore);
    const ready = await request(app.url).get('/health/ready').expect(200);
    expect(ready.body.checks.messaging).toMatchObject({ ready: true, detail: { bus: 'in-process', connected: true } });
    expect(ready.body.checks.messaging.detail.relays.map((relay: { name: string }) => relay.name)).toEqual(['ledger', 'availability']);
    expect(store.load('ledger')).toEqual(expect.any(Number));

    const metrics = await request(app.url).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/ledger_relay_lag_positions\{relay="ledger"\} 0/);
    expect(metrics.text).toMatch(/ledger_relay_lag_seconds\{relay="availability"\} 0/);
    expect(metrics.text).toMatch(/ledger_relay_messages_published_total\{relay="ledger"\} \d+/);
  });

  it('keeps the change log from being pruned past the availability relay, which then catches up', async () => {
    const relay = app.app.get(AvailabilityRelay);
    const projections = app.app.get(ProjectionManager);
    // Read to the end: an unfinished better-sqlite3 iterator would block the projections' writes.
    const changesAfter = (position: number) => {
      const changes = projections.availability().changesAfter(position);
      return changes && [...changes];
    };
    await eventually(async () => (await relay.status()).lagPositions === 0);
    await relay.stop();
    const floor = relay.pruneFloor();

    let last = 0;
    for (let index = 0; index < 5; index++) {
      const response = await request(app.url).post('/v1/skus/MUG/receipts').send({ receiptId: `mug-${index}`, location: 'wh-1', quantity: 1 }).expect(201);
      last = response.body.position;
    }
    await request(app.url).get(`/v1/skus/MUG/availability?minPosition=${last}`).expect(200);
    const stalled = await relay.status();
    expect(stalled).toMatchObject({ state: 'stopped', checkpoint: floor });
    expect(stalled.lagPositions).toBeGreaterThan(0);

    projections.pruneChangeLog(0);
    expect(changesAfter(floor)?.length).toBe(5);

    relay.start();
    await eventually(() => availability().filter((message) => message.json.sku === 'MUG').length === 5);
    expect(availability().filter((message) => message.json.sku === 'MUG').map((message) => message.json.available)).toEqual([1, 2, 3, 4, 5]);
    await eventually(async () => (await relay.status()).checkpoint === last);
    projections.pruneChangeLog(0);
    // Caught up: everything up to the checkpoint may go; nothing after it is lost.
    expect(changesAfter(last)).toEqual([]);
    expect(changesAfter(floor)).toBeNull();
  });

  it('the ledger relay can be stopped and restarted from its checkpoint', async () => {
    const relay = app.app.get(LedgerRelay);
    await relay.stop();
    const before = ledger().length;
    await request(app.url).post('/v1/skus/CAP/receipts').send({ receiptId: 'cap-1', location: 'wh-1', quantity: 3 }).expect(201);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ledger().length).toBe(before);
    relay.start();
    await eventually(() => ledger().length === before + 1);
    expect(ledger()[before].json).toMatchObject({ type: 'inventory.stock-received.v1', sku: 'CAP' });
  });
});
