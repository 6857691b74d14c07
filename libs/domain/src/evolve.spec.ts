import { EventTypes, isChannelEvent, isInventoryEvent, type InventoryEvent } from './events';
import { evolve, evolveAll } from './evolve';
import { cloneState, emptyLocation, initialState, locationAvailable, stockTotals } from './state';
import { alloc, at, ev } from './testing/fixtures';

const fold = (events: InventoryEvent[]) => evolveAll(initialState(), events);

describe('evolve', () => {
  it('moves the given state forward in place and returns it', () => {
    const state = initialState();
    expect(evolve(state, ev.received('r1', 'A', 1))).toBe(state);
    expect(evolveAll(state, [ev.received('r2', 'A', 1)])).toBe(state);
    expect(state.locations.get('A')?.onHand).toBe(2);
  });

  it('records receipts, creating locations in the order first seen', () => {
    const state = fold([ev.received('r1', 'B', 2), ev.received('r2', 'A', 3), ev.received('r3', 'B', 1, 'PO-1')]);
    expect([...state.locations.keys()]).toEqual(['B', 'A']);
    expect(state.locations.get('B')).toEqual({ ...emptyLocation(), onHand: 3 });
    expect(state.receipts.get('r3')).toEqual({ location: 'B', quantity: 1, reference: 'PO-1' });
  });

  it('sets on hand to the count and keeps held units as reserved, or as shortfall beyond the count', () => {
    const state = fold([
      ev.received('r1', 'A', 10),
      ev.reserved('h1', [alloc('A', 6)]),
      ev.adjusted('c1', 'A', { mode: 'count', delta: -6, countedQuantity: 4 }),
    ]);
    expect(state.locations.get('A')).toMatchObject({ onHand: 4, reserved: 4, shortfall: 2 });
    expect(state.adjustments.get('c1')).toEqual({ location: 'A', mode: 'count', delta: -6, countedQuantity: 4, reason: 'cycle_count', shortfall: 2 });
    evolve(state, ev.adjusted('c2', 'A', { mode: 'count', delta: 6, countedQuantity: 10 }));
    expect(state.locations.get('A')).toMatchObject({ onHand: 10, reserved: 6, shortfall: 0 });
    expect(state.adjustments.get('c2')?.shortfall).toBe(0);
  });

  it('changes nothing for a shortage report: the adjustment already moved the numbers', () => {
    const state = fold([ev.received('r1', 'A', 1)]);
    const before = cloneState(state);
    evolve(state, ev.shortage('c1', 'A', 1, ['h1']));
    expect(state).toEqual(before);
  });

  it('tracks held reservations and the earliest expiry among them', () => {
    const state = fold([
      ev.received('r1', 'A', 10),
      ev.reserved('late', [alloc('A', 1)], { ttlSeconds: 90 }),
      ev.reserved('soon', [alloc('A', 1)], { ttlSeconds: 30 }),
      ev.reserved('mid', [alloc('A', 1)], { ttlSeconds: 60 }),
    ]);
    expect(state.earliestHeldExpiryMs).toBe(at(30));
    expect(state.reservations.get('soon')).toMatchObject({ status: 'held', expiresAtMs: at(30), releaseReason: null });
    evolve(state, ev.committed('soon', [alloc('A', 1)]));
    expect(state.earliestHeldExpiryMs).toBe(at(60));
    evolve(state, ev.released('late', [alloc('A', 1)]));
    expect(state.earliestHeldExpiryMs).toBe(at(60));
    evolve(state, ev.released('mid', [alloc('A', 1)], 'expired'));
    expect(state.earliestHeldExpiryMs).toBe(Infinity);
    expect(state.held.size).toBe(0);
    expect([...state.reservations.values()].map((r) => [r.reservationId, r.status, r.releaseReason])).toEqual([
      ['late', 'released', 'cancelled'],
      ['soon', 'committed', null],
      ['mid', 'expired', 'expired'],
    ]);
  });

  it('takes committed units out of on hand and reserved at every location', () => {
    const state = fold([ev.received('r1', 'A', 2), ev.received('r2', 'B', 3), ev.reserved('h1', [alloc('A', 2), alloc('B', 1)]), ev.committed('h1', [alloc('A', 2), alloc('B', 1)])]);
    expect(state.locations.get('A')).toMatchObject({ onHand: 0, reserved: 0 });
    expect(state.locations.get('B')).toMatchObject({ onHand: 2, reserved: 0 });
  });

  it('gives back unbacked units first when a hold is released', () => {
    const state = fold([
      ev.received('r1', 'A', 5),
      ev.reserved('h1', [alloc('A', 3)]),
      ev.reserved('h2', [alloc('A', 2)]),
      ev.adjusted('c1', 'A', { mode: 'count', delta: -2, countedQuantity: 3 }),
      ev.released('h2', [alloc('A', 2)]),
    ]);
    expect(state.locations.get('A')).toMatchObject({ onHand: 3, reserved: 3, shortfall: 0 });
  });

  it('takes sold units out of on hand only', () => {
    const state = fold([ev.received('r1', 'A', 5), ev.reserved('h1', [alloc('A', 1)]), ev.sold('s1', [alloc('A', 3)], 'pos')]);
    expect(state.locations.get('A')).toMatchObject({ onHand: 2, reserved: 1 });
    expect(state.sales.get('s1')).toEqual({ channel: 'pos', quantity: 3, allocations: [alloc('A', 3)] });
  });

  it('holds returns for inspection, then restocks (covering shortfall first) and writes off', () => {
    const state = fold([
      ev.received('r1', 'A', 2),
      ev.reserved('h1', [alloc('A', 2)]),
      ev.adjusted('c1', 'A', { mode: 'count', delta: -2, countedQuantity: 0 }),
      ev.returned('x1', 'A', 4, { orderRef: 'o-1', channel: 'web' }),
    ]);
    expect(state.locations.get('A')).toEqual({ onHand: 0, reserved: 0, shortfall: 2, pendingInspection: 4, writtenOff: 0 });
    expect(state.returns.get('x1')).toMatchObject({ status: 'pending_inspection', restockQuantity: null, orderRef: 'o-1', channel: 'web' });
    evolve(state, ev.inspected('x1', 'A', 3, 1));
    expect(state.locations.get('A')).toEqual({ onHand: 3, reserved: 2, shortfall: 0, pendingInspection: 0, writtenOff: 1 });
    expect(state.returns.get('x1')).toMatchObject({ status: 'inspected', restockQuantity: 3, writeOffQuantity: 1 });
  });
});

describe('state helpers', () => {
  it('sums every location into totals', () => {
    const state = fold([ev.received('r1', 'A', 5), ev.received('r2', 'B', 2), ev.reserved('h1', [alloc('A', 1), alloc('B', 2)]), ev.returned('x1', 'B', 1)]);
    expect(stockTotals(state)).toEqual({ onHand: 7, reserved: 3, available: 4, pendingInspection: 1, shortfall: 0, writtenOff: 0 });
    expect(locationAvailable(state.locations.get('A'))).toBe(4);
    expect(locationAvailable(undefined)).toBe(0);
  });

  it('clones deeply: evolving the clone leaves the original as it was', () => {
    const original = fold([ev.received('r1', 'A', 5), ev.reserved('h1', [alloc('A', 2)])]);
    const copy = cloneState(original);
    expect(copy).toEqual(original);
    evolve(copy, ev.committed('h1', [alloc('A', 2)]));
    evolve(copy, ev.received('r2', 'B', 1));
    expect(original.locations.get('A')).toMatchObject({ onHand: 5, reserved: 2 });
    expect(original.reservations.get('h1')?.status).toBe('held');
    expect(original.held.has('h1')).toBe(true);
    expect(original.locations.has('B')).toBe(false);
  });
});

describe('event types', () => {
  it('tells inventory events from channel events', () => {
    expect(isInventoryEvent({ type: EventTypes.StockSold })).toBe(true);
    expect(isInventoryEvent({ type: EventTypes.ChannelConfigured })).toBe(false);
    expect(isInventoryEvent({ type: 'inventory.stock-sold.v2' })).toBe(false);
    expect(isChannelEvent({ type: EventTypes.ChannelConfigured })).toBe(true);
    expect(isChannelEvent({ type: EventTypes.StockSold })).toBe(false);
  });

  it('keeps every stored type string under the prefix and versioned', () => {
    for (const type of Object.values(EventTypes)) expect(type).toMatch(/^inventory\.[a-z-]+\.v\d+$/);
  });
});
