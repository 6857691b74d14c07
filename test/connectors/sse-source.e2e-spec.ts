import request from 'supertest';
import { ChannelSync, LedgerClient, LoggingChannelAdapter, Reconciler, SqliteSyncStateStore, SseAvailabilitySource } from '@ledger/connector';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../support/test-app';
import { eventually, quietLogger, tempDir } from './support';

/** The SSE source against the real ledger app: start-up resync, live changes, Last-Event-ID resume. */
describe('SseAvailabilitySource on the running ledger', () => {
  let app: TestApp;
  const dir = tempDir();

  beforeAll(async () => {
    app = await startTestApp();
    await request(app.url).put('/v1/channels/web').send({ locations: [] }).expect(200);
  });
  afterAll(async () => {
    await app.close();
    dir.remove();
  });

  const receive = (sku: string, id: string, quantity: number) => request(app.url).post(`/v1/skus/${sku}/receipts`).send({ receiptId: id, location: 'wh-1', quantity }).expect(201);
  const ledgerCount = async (sku: string) => (await request(app.url).get(`/v1/skus/${sku}/availability`).expect(200)).body.channels.find((row: { channel: string }) => row.channel === 'web')?.available;

  it('resyncs at start, follows live changes, and resumes after a stop from its stored event id', async () => {
    await receive('SSE-A', 'r-1', 5);
    const path = join(dir.path, 'connector-web.db');
    const start = () => {
      const adapter = new LoggingChannelAdapter('web', quietLogger);
      const sync = new ChannelSync({ channel: 'web', adapter, store: new SqliteSyncStateStore(path), logger: quietLogger });
      const source = new SseAvailabilitySource({ baseUrl: app.url, sync, ledger: new LedgerClient({ baseUrl: app.url, logger: quietLogger }), logger: quietLogger });
      return { adapter, sync, source };
    };
    let connector = start();
    connector.sync.start();
    await connector.source.start();
    expect(connector.source.stats.resyncs).toBe(1);
    await connector.sync.idle();
    expect(connector.sync.store.get('SSE-A')?.available).toBe(5);
    await receive('SSE-A', 'r-2', 2);
    await receive('SSE-B', 'r-3', 4);
    await eventually(() => connector.sync.store.get('SSE-B')?.available === 4 && connector.sync.store.get('SSE-A')?.available === 7);
    const lastEventId = connector.source.stats.lastEventId;
    expect(lastEventId).not.toBeNull();
    await connector.source.stop();
    await connector.sync.stop();
    connector.sync.store.close();

    // Down for a while: changes pile up in the ledger.
    await receive('SSE-B', 'r-4', 6);
    await receive('SSE-C', 'r-5', 1);
    connector = start();
    expect(connector.sync.store.cursor('sse:web')).toBe(lastEventId);
    connector.sync.start();
    await connector.source.start();
    await eventually(() => connector.sync.store.get('SSE-B')?.available === 10 && connector.sync.store.get('SSE-C')?.available === 1);
    await connector.sync.idle();
    // Nothing it had pushed before the stop is pushed again.
    expect(connector.adapter.updates.map((update) => update.sku).sort()).toEqual(['SSE-B', 'SSE-C']);
    for (const sku of ['SSE-A', 'SSE-B', 'SSE-C']) expect(connector.sync.store.get(sku)?.available).toBe(await ledgerCount(sku));

    // Reconciliation: the channel shows more than the connector set (an edit there): repaired.
    const pushed = connector.adapter.updates.length;
    (connector.adapter as unknown as { shown: Map<string, number> }).shown.set('SSE-C', 50);
    const report = await new Reconciler({ sync: connector.sync, adapter: connector.adapter, logger: quietLogger }).run();
    expect(report).toMatchObject({ above: ['SSE-C'], repaired: ['SSE-C'] });
    await connector.sync.idle();
    expect(connector.adapter.updates.slice(pushed)).toEqual([{ sku: 'SSE-C', quantity: 1 }]);
    await connector.source.stop();
    await connector.sync.stop();
    connector.sync.store.close();
  });
});
