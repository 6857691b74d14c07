import * as fc from 'fast-check';
import { SqliteEventStore } from '@ledger/event-store';
import { momentFromMs } from './moments';
import { movementReport } from './movements';
import { skuBalance } from './replay';
import { T0, historyFrom, opsArbitrary, writeChannels, writeHistory } from './testing/random-history';

describe('movement report', () => {
  it('balances for random histories and periods: opening + movements = closing, both as replayed', async () => {
    await fc.assert(
      fc.asyncProperty(opsArbitrary(60), fc.nat({ max: 3000 }), fc.nat({ max: 3000 }), async (ops, a, b) => {
        const store = new SqliteEventStore({ path: ':memory:' });
        try {
          await writeChannels(store);
          await writeHistory(store, 'SKU-1', historyFrom(ops).steps);
          const from = momentFromMs(T0 + Math.min(a, b) * 1000);
          const to = momentFromMs(T0 + Math.max(a, b) * 1000);
          const report = await movementReport(store, 'SKU-1', from, to);
          expect(report.balanced).toBe(true);
          expect(report.checks.onHand.difference).toBe(0);
          expect(report.checks.pendingInspection.balanced).toBe(true);
          // Opening and closing are exactly the balances the replay gives at those moments.
          const opening = await skuBalance(store, 'SKU-1', { at: from });
          const closing = await skuBalance(store, 'SKU-1', { at: to });
          const { revision: openingRevision, ...openingTotals } = report.opening;
          const { revision: closingRevision, ...closingTotals } = report.closing;
          expect(openingTotals).toEqual(opening.totals);
          expect(closingTotals).toEqual(closing.totals);
          expect(openingRevision).toBe(opening.revision);
          expect(closingRevision).toBe(closing.revision);
          expect(report.events).toBe(closing.revision - opening.revision);
        } finally {
          await store.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('sorts movements by kind', async () => {
    const store = new SqliteEventStore({ path: ':memory:' });
    const at = (s: number) => T0 + s * 1000;
    await writeHistory(store, 'S', [
      { now: at(0), events: [{ type: 'inventory.stock-received.v1', data: { receiptId: 'r1', location: 'A', quantity: 10, reference: null } }] },
      { now: at(10), events: [{ type: 'inventory.stock-received.v1', data: { receiptId: 'r2', location: 'A', quantity: 5, reference: null } }] },
      {
        now: at(20),
        events: [{ type: 'inventory.stock-reserved.v1', data: { reservationId: 'h1', channel: 'web', quantity: 3, allocations: [{ location: 'A', quantity: 3 }], ttlSeconds: 60, expiresAt: new Date(at(80)).toISOString(), orderRef: null } }],
      },
      { now: at(30), events: [{ type: 'inventory.reservation-committed.v1', data: { reservationId: 'h1', channel: 'web', quantity: 3, allocations: [{ location: 'A', quantity: 3 }] } }] },
      { now: at(40), events: [{ type: 'inventory.stock-sold.v1', data: { saleId: 's1', channel: 'web', quantity: 2, allocations: [{ location: 'A', quantity: 2 }] } }] },
      { now: at(50), events: [{ type: 'inventory.return-received.v1', data: { returnId: 'x1', location: 'A', quantity: 4, orderRef: null, channel: null } }] },
      { now: at(60), events: [{ type: 'inventory.return-inspected.v1', data: { returnId: 'x1', location: 'A', restockQuantity: 3, writeOffQuantity: 1 } }] },
      { now: at(70), events: [{ type: 'inventory.stock-adjusted.v1', data: { adjustmentId: 'c1', location: 'A', mode: 'count', delta: -1, countedQuantity: 12, reason: 'cycle_count' } }] },
      { now: at(80), events: [{ type: 'inventory.stock-adjusted.v1', data: { adjustmentId: 'c2', location: 'A', mode: 'delta', delta: 2, countedQuantity: 14, reason: 'correction' } }] },
      { now: at(90), events: [{ type: 'inventory.stock-received.v1', data: { receiptId: 'r3', location: 'A', quantity: 100, reference: null } }] },
    ]);
    const report = await movementReport(store, 'S', momentFromMs(at(5)), momentFromMs(at(80)));
    expect(report.opening).toMatchObject({ onHand: 10, revision: 0 });
    expect(report.movements).toEqual({
      receipts: 5,
      sales: { committed: 3, direct: 2, total: 5 },
      returnsReceived: 4,
      returnsRestocked: 3,
      writeOffs: 1,
      adjustments: { net: 1, increases: 2, decreases: 1, count: 2, byReason: { cycle_count: -1, correction: 2 } },
    });
    expect(report.closing).toMatchObject({ onHand: 14, pendingInspection: 0, writtenOff: 1, revision: 8 });
    expect(report.events).toBe(8);
    expect(report.balanced).toBe(true);
    await store.close();
  });
});
