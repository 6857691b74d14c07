import * as fc from 'fast-check';
import { EventTypes, channelAvailable, cloneState, evolve, initialState, stockTotals, type SkuState } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { HistoryCheckpoints, skuHistory } from './history';
import { momentFromMs, parseMoment } from './moments';
import { replayAll } from './replay-all';
import { skuBalance } from './replay';
import { chunked, stockAsOf, stockCsv, stockJsonLines, type StockRow } from './stock-report';
import { CHANNEL_SETUP, T0, historyFrom, opsArbitrary, writeChannels, writeHistory } from './testing/random-history';

const collect = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
};

/** The state the live system held right after the last command at each moment. */
function statesByMoment(ops: Parameters<typeof historyFrom>[0], start = T0): Map<number, SkuState> {
  const state = initialState();
  const byMoment = new Map<number, SkuState>();
  for (const step of historyFrom(ops, start).steps) {
    for (const event of step.events) evolve(state, event);
    byMoment.set(step.now, cloneState(state));
  }
  return byMoment;
}

describe('moments', () => {
  it('accepts ISO dates and zoned times, refuses the rest', () => {
    expect(parseMoment('2026-01-31')?.iso).toBe('2026-01-31T00:00:00.000Z');
    expect(parseMoment('2026-01-31T10:00:00+02:00')?.iso).toBe('2026-01-31T08:00:00.000Z');
    expect(parseMoment('2026-01-31T10:00:00.123Z')?.ms).toBe(Date.parse('2026-01-31T10:00:00.123Z'));
    for (const bad of ['2026-02-30', '2026-13-01', '2026-01-31T10:00:00', 'yesterday', '', '2026-01-31T25:00Z', '1706745600']) expect(parseMoment(bad)).toBeNull();
  });
});

describe('replay of one SKU', () => {
  it('gives at every moment exactly what the live system held then, channels included', async () => {
    await fc.assert(
      fc.asyncProperty(opsArbitrary(50), async (ops) => {
        const store = new SqliteEventStore({ path: ':memory:' });
        try {
          await writeChannels(store);
          await writeHistory(store, 'SKU-1', historyFrom(ops).steps);
          for (const [now, state] of statesByMoment(ops)) {
            const balance = await skuBalance(store, 'SKU-1', { at: momentFromMs(now) });
            expect(balance.totals).toEqual(stockTotals(state));
            expect(Object.keys(balance.locations)).toEqual([...state.locations.keys()]);
            for (const [location, stock] of state.locations) expect(balance.locations[location]).toEqual({ ...stock, available: stock.onHand - stock.reserved });
            for (const [channel, locations] of Object.entries(CHANNEL_SETUP)) expect(balance.channels[channel]).toEqual({ available: channelAvailable(state, locations), locations });
          }
        } finally {
          await store.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('replays to a revision, with channels as of that event', async () => {
    const store = new SqliteEventStore({ path: ':memory:' });
    const ops = fc.sample(opsArbitrary(40, 40), { seed: 7, numRuns: 1 })[0];
    const { steps } = historyFrom(ops, T0 + 60_000);
    await writeHistory(store, 'S', steps);
    await writeChannels(store, T0 + 10 * 60_000, { web: ['A'] });
    const events = steps.flatMap((step) => step.events);
    const state = initialState();
    for (const [revision, event] of events.entries()) {
      evolve(state, event);
      if (revision % 5 !== 0) continue;
      const balance = await skuBalance(store, 'S', { revision });
      expect(balance.revision).toBe(revision);
      expect(balance.totals).toEqual(stockTotals(state));
    }
    // The channel was configured ten minutes in: before that it does not exist; afterwards it does.
    const early = await skuBalance(store, 'S', { revision: 0 });
    expect(early.channels).toEqual({});
    const now = await skuBalance(store, 'S');
    expect(now.channels.web.locations).toEqual(['A']);
    expect(now.revision).toBe(events.length - 1);
    const before = await skuBalance(store, 'S', { at: momentFromMs(T0) });
    expect(before).toMatchObject({ revision: -1, streamExists: true, totals: { onHand: 0 }, locations: {} });
    const missing = await skuBalance(store, 'NOPE');
    expect(missing).toMatchObject({ streamExists: false, revision: -1, currentRevision: -1 });
    await store.close();
  });
});

describe('history', () => {
  it('gives every event its change and running balance, filters and pages by revision', async () => {
    const store = new SqliteEventStore({ path: ':memory:' });
    const ops = fc.sample(opsArbitrary(60, 60), { seed: 3, numRuns: 1 })[0];
    const { steps } = historyFrom(ops);
    await writeHistory(store, 'S', steps, { actor: 'ops-7', role: 'ops', correlationId: 'corr-9' });
    const events = steps.flatMap((step) => step.events.map((event) => ({ event, now: step.now })));
    const all = await skuHistory(store, 'S', { limit: 1000 });
    expect(all.events).toHaveLength(events.length);
    expect(all.nextFromRevision).toBeNull();
    const state = initialState();
    let previous = stockTotals(state);
    for (const [revision, { event, now }] of events.entries()) {
      evolve(state, event);
      const totals = stockTotals(state);
      const entry = all.events[revision];
      expect(entry).toMatchObject({ revision, type: event.type, occurredAt: new Date(now).toISOString(), actor: 'ops-7', role: 'ops', correlationId: 'corr-9', balance: totals });
      expect(entry.change.onHand).toBe(totals.onHand - previous.onHand);
      expect(entry.change.reserved).toBe(totals.reserved - previous.reserved);
      expect(entry.change.available).toBe(totals.available - previous.available);
      previous = totals;
    }
    // Pages of 7 put together are the whole ledger.
    const paged = [];
    let from: number | null = 0;
    while (from !== null) {
      const page = await skuHistory(store, 'S', { fromRevision: from, limit: 7 });
      paged.push(...page.events);
      from = page.nextFromRevision;
    }
    expect(paged).toEqual(all.events);
    // Resuming from remembered figures gives the same pages, in order or not.
    const checkpoints = new HistoryCheckpoints(2);
    for (const start of [0, 7, 14, 21, 3, 28, 35, 42, 49, 56]) {
      const page = await skuHistory(store, 'S', { fromRevision: start, limit: 7 }, { checkpoints });
      expect(page.events).toEqual(all.events.slice(start, start + 7));
    }
    // Type and time filters keep running balances.
    const receipts = await skuHistory(store, 'S', { types: [EventTypes.StockReceived], limit: 1000 });
    expect(receipts.events).toEqual(all.events.filter((entry) => entry.type === EventTypes.StockReceived));
    const window = { from: momentFromMs(events[5].now), to: momentFromMs(events[20].now) };
    const inWindow = await skuHistory(store, 'S', { ...window, limit: 1000 });
    expect(inWindow.events).toEqual(all.events.filter((entry) => entry.occurredAt >= window.from.iso && entry.occurredAt <= window.to.iso));
    await store.close();
  });
});

describe('stock as of a moment, across SKUs', () => {
  it('equals the per-SKU replay for every SKU, by location, and writes CSV and JSON lines', async () => {
    const store = new SqliteEventStore({ path: ':memory:' });
    const samples = fc.sample(opsArbitrary(40, 30), { seed: 11, numRuns: 6 });
    for (const [index, ops] of samples.entries()) await writeHistory(store, `SKU-${index}`, historyFrom(ops, T0 + index * 7000).steps);
    for (const seconds of [0, 300, 900, 5000]) {
      const at = momentFromMs(T0 + seconds * 1000);
      const rows = await collect(stockAsOf(store, { at, pageSize: 13 }));
      const expected: StockRow[] = [];
      for (const index of samples.keys()) {
        const balance = await skuBalance(store, `SKU-${index}`, { at });
        for (const location of Object.keys(balance.locations).sort()) {
          const { onHand, reserved, available, pendingInspection, shortfall, writtenOff } = balance.locations[location];
          expected.push({ sku: `SKU-${index}`, location, onHand, reserved, available, pendingInspection, shortfall, writtenOff });
        }
      }
      expect(rows).toEqual(expected);
      expect(await collect(stockAsOf(store, { at, location: 'B' }))).toEqual(expected.filter((row) => row.location === 'B'));
    }
    const rows = await collect(stockAsOf(store));
    const csv = (await collect(chunked(stockCsv(stockAsOf(store)), 100))).join('');
    expect(csv.split('\n')[0]).toBe('sku,location,onHand,reserved,available,pendingInspection,shortfall,writtenOff');
    expect(csv.split('\n')[1]).toBe(Object.values(rows[0]).join(','));
    expect(csv.trimEnd().split('\n')).toHaveLength(rows.length + 1);
    const json = (await collect(stockJsonLines(stockAsOf(store)))).map((line) => JSON.parse(line));
    expect(json).toEqual(rows);

    const progress: number[] = [];
    const domain = await replayAll(store, (p) => progress.push(p.events), { pageSize: 50 });
    const figures = await replayAll(store, undefined, { mode: 'figures' });
    expect(domain.totals).toEqual(figures.totals);
    expect(domain.skus).toBe(samples.length);
    expect(progress[progress.length - 1]).toBe(domain.events);
    const sum = rows.reduce((total, row) => total + row.onHand, 0);
    expect(domain.totals.onHand).toBe(sum);
    await store.close();
  });
});
