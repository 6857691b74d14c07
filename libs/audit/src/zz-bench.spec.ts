import * as fc from 'fast-check';
import { existsSync } from 'node:fs';
import { SqliteEventStore } from '@ledger/event-store';
import { replayAll } from './replay-all';
import { stockAsOf } from './stock-report';
import { verifyStore } from './verify';
import { historyFrom, opsArbitrary, writeHistory } from './testing/random-history';

const PATH = '/tmp/bench/ledger.db';
jest.setTimeout(600_000);
it('bench', async () => {
  if (!existsSync(PATH)) {
    const store = new SqliteEventStore({ path: PATH });
    const samples = fc.sample(opsArbitrary(400, 400), { seed: 1, numRuns: 20 });
    for (let i = 0; i < 1000; i++) await writeHistory(store, `SKU-${i}`, historyFrom(samples[i % 20], undefined, `s${i}-`).steps);
    await store.close();
  }
  const store = new SqliteEventStore({ path: PATH });
  console.log('head', await store.headPosition());
  for (const mode of ['domain', 'figures', 'domain', 'figures'] as const) {
    const r = await replayAll(store, undefined, { mode });
    console.log(mode, r.events, Math.round(r.durationMs), r.eventsPerSecond, JSON.stringify(process.memoryUsage().heapUsed / 1e6));
  }
  let t = Date.now(); let n = 0;
  for await (const _ of stockAsOf(store)) n++;
  console.log('stock rows', n, Date.now() - t);
  t = Date.now();
  const v = await verifyStore(store);
  console.log('verify', v.ok, v.events, Date.now() - t);
  await store.close();
});
