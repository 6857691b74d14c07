import * as fc from 'fast-check';
import { EsdbEventStore, SqliteEventStore, type EventStore } from '@ledger/event-store';
import { EsdbEmulator } from '@test/esdb-emulator';
import { exportEvents, verifyExportLines } from './export';
import { skuHistory } from './history';
import { momentFromMs } from './moments';
import { movementReport } from './movements';
import { replayAll } from './replay-all';
import { skuBalance } from './replay';
import { stockAsOf } from './stock-report';
import { T0, historyFrom, opsArbitrary, writeChannels, writeHistory } from './testing/random-history';
import { verifyStore } from './verify';

const collect = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
};

/** The same ledger written to both adapters must audit identically: the auditor uses only the port. */
describe('audit on EventStoreDB (emulator) equals audit on the embedded store', () => {
  jest.setTimeout(60_000);
  let emulator: EsdbEmulator;
  let esdb: EventStore;
  let sqlite: EventStore;

  beforeAll(async () => {
    emulator = await EsdbEmulator.start();
    esdb = new EsdbEventStore({ connectionString: emulator.connectionString });
    sqlite = new SqliteEventStore({ path: ':memory:' });
    const samples = fc.sample(opsArbitrary(60, 40), { seed: 5, numRuns: 3 });
    for (const store of [esdb, sqlite]) {
      await writeChannels(store);
      for (const [index, ops] of samples.entries()) await writeHistory(store, `E-${index}`, historyFrom(ops, T0 + index * 5000).steps);
    }
    // A system event in $all must be left out by the adapter, not tripped over by the auditor.
    emulator.appendSystemEvent();
  });

  afterAll(async () => {
    await esdb?.close();
    await sqlite?.close();
    await emulator?.stop();
  });

  it('verifies, replays, reports and exports the same', async () => {
    const [a, b] = [await verifyStore(esdb, { pageSize: 17 }), await verifyStore(sqlite)];
    expect(a).toMatchObject({ ok: true, events: b.events, streams: 4, skuStreams: 3 });
    for (const seconds of [100, 900, 3000]) {
      const at = momentFromMs(T0 + seconds * 1000);
      expect(await collect(stockAsOf(esdb, { at, pageSize: 11 }))).toEqual(await collect(stockAsOf(sqlite, { at })));
      const { position: _p1, ...onEsdb } = await skuBalance(esdb, 'E-1', { at });
      const { position: _p2, ...onSqlite } = await skuBalance(sqlite, 'E-1', { at });
      expect(onEsdb).toEqual(onSqlite);
    }
    const movementsOn = async (store: EventStore) => movementReport(store, 'E-2', momentFromMs(T0 + 200_000), momentFromMs(T0 + 2_000_000));
    expect(await movementsOn(esdb)).toEqual(await movementsOn(sqlite));
    const historyOn = async (store: EventStore) => (await skuHistory(store, 'E-0', { fromRevision: 3, limit: 10 })).events.map(({ position: _p, recordedAt: _r, ...entry }) => entry);
    expect(await historyOn(esdb)).toEqual(await historyOn(sqlite));
    expect((await replayAll(esdb)).totals).toEqual((await replayAll(sqlite)).totals);
    const lines = (await collect(exportEvents(esdb))).join('').trim().split('\n');
    expect(lines).toHaveLength(b.events);
    expect(await verifyExportLines(lines)).toMatchObject({ ok: true, events: b.events });
  });
});
