import * as fc from 'fast-check';
import { EventTypes, evolve, initialState, stockTotals, type InventoryEvent, type SkuState } from '@ledger/domain';
import { LocationFigures, brokenInvariant, figuresAtIn, foldLocationFigures, totalsOf } from './location-fold';
import { LOCATIONS, historyFrom, opsArbitrary } from './testing/random-history';

const asEntries = (locations: Map<string, LocationFigures> | SkuState['locations']) =>
  [...locations].map(([location, { onHand, reserved, shortfall, pendingInspection, writtenOff }]) => [location, { onHand, reserved, shortfall, pendingInspection, writtenOff }]);

/** Folds with both, comparing every location (and the order they appeared in) after every event. */
function assertSameAfterEveryEvent(events: InventoryEvent[]): void {
  const state = initialState();
  const locations = new Map<string, LocationFigures>();
  const at = figuresAtIn(locations);
  for (const event of events) {
    evolve(state, event);
    foldLocationFigures(at, event.type, event.data as unknown as Record<string, unknown>);
    expect(asEntries(locations)).toEqual(asEntries(state.locations));
  }
  const { onHand, reserved, available, pendingInspection, shortfall, writtenOff } = stockTotals(state);
  expect(totalsOf(locations.values())).toEqual({ onHand, reserved, available, pendingInspection, shortfall, writtenOff });
}

const location = fc.constantFrom(...LOCATIONS);
const qty = fc.integer({ min: 0, max: 9 });
const allocations = fc.array(fc.record({ location, quantity: qty }), { minLength: 1, maxLength: 3 });
const id = fc.constantFrom('x1', 'x2', 'x3');

/** Any event in any order, consistent or not: the arithmetic must agree even on nonsense. */
const rawEvent: fc.Arbitrary<InventoryEvent> = fc.oneof(
  fc.record({ receiptId: id, location, quantity: qty, reference: fc.constant(null) }).map((data) => ({ type: EventTypes.StockReceived, data })),
  fc
    .record({ adjustmentId: id, location, countedQuantity: qty, delta: fc.integer({ min: -5, max: 5 }) })
    .map(({ adjustmentId, location: l, countedQuantity, delta }) => ({
      type: EventTypes.StockAdjusted,
      data: { adjustmentId, location: l, mode: 'count' as const, delta, countedQuantity, reason: 'cycle_count' as const },
    })),
  fc.record({ adjustmentId: id, location, shortfall: qty }).map((data) => ({ type: EventTypes.StockShortageDetected, data: { ...data, reservationsAtRisk: [] } })),
  fc.record({ reservationId: id, allocations }).map(({ reservationId, allocations: a }) => ({
    type: EventTypes.StockReserved,
    data: { reservationId, channel: 'web', quantity: a.reduce((s, x) => s + x.quantity, 0), allocations: a, ttlSeconds: 60, expiresAt: '2026-01-01T00:01:00.000Z', orderRef: null },
  })),
  fc.record({ reservationId: id, allocations }).map(({ reservationId, allocations: a }) => ({
    type: EventTypes.ReservationCommitted,
    data: { reservationId, channel: 'web', quantity: a.reduce((s, x) => s + x.quantity, 0), allocations: a },
  })),
  fc.record({ reservationId: id, allocations, reason: fc.constantFrom('cancelled' as const, 'expired' as const) }).map(({ reservationId, allocations: a, reason }) => ({
    type: EventTypes.ReservationReleased,
    data: { reservationId, channel: 'web', quantity: a.reduce((s, x) => s + x.quantity, 0), allocations: a, reason },
  })),
  fc.record({ saleId: id, allocations }).map(({ saleId, allocations: a }) => ({
    type: EventTypes.StockSold,
    data: { saleId, channel: 'web', quantity: a.reduce((s, x) => s + x.quantity, 0), allocations: a },
  })),
  fc.record({ returnId: id, location, quantity: qty }).map((data) => ({ type: EventTypes.ReturnReceived, data: { ...data, orderRef: null, channel: null } })),
  fc.record({ returnId: id, location, restockQuantity: qty, writeOffQuantity: qty }).map((data) => ({ type: EventTypes.ReturnInspected, data })),
);

describe('numeric location fold', () => {
  it('equals the domain evolve after every event of random decided histories', () => {
    fc.assert(
      fc.property(opsArbitrary(80), (ops) => {
        assertSameAfterEveryEvent(historyFrom(ops).steps.flatMap((step) => step.events));
      }),
      { numRuns: 300 },
    );
  });

  it('equals the domain evolve on arbitrary event sequences, consistent or not', () => {
    fc.assert(fc.property(fc.array(rawEvent, { maxLength: 40 }), (events) => assertSameAfterEveryEvent(events)), { numRuns: 500 });
  });

  it('keeps the invariants on decided histories (what verify relies on)', () => {
    fc.assert(
      fc.property(opsArbitrary(80), (ops) => {
        const locations = new Map<string, LocationFigures>();
        const at = figuresAtIn(locations);
        for (const event of historyFrom(ops).steps.flatMap((step) => step.events)) {
          foldLocationFigures(at, event.type, event.data as unknown as Record<string, unknown>);
          for (const figures of locations.values()) expect(brokenInvariant(figures)).toBeNull();
        }
      }),
      { numRuns: 200 },
    );
  });

  it('names the broken invariant', () => {
    const figures = new LocationFigures();
    figures.onHand = 2;
    figures.reserved = 3;
    expect(brokenInvariant(figures)).toEqual({ rule: 'reserved must never exceed onHand', field: 'reserved', value: 3 });
    figures.onHand = -1;
    expect(brokenInvariant(figures)?.rule).toBe('onHand must never be negative');
    figures.onHand = Number.NaN;
    expect(brokenInvariant(figures)?.rule).toBe('onHand must be a whole number');
  });

  it('ignores event types that move no figures', () => {
    const locations = new Map<string, LocationFigures>();
    expect(foldLocationFigures(figuresAtIn(locations), 'inventory.something-else.v9', { location: 'A', quantity: 3 })).toBe(false);
    expect(locations.size).toBe(0);
  });
});
