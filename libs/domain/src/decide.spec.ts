import { decide } from './decide';
import { DomainError } from './errors';
import type { ReservationResult } from './results';
import type { SkuCommand } from './commands';
import { channelAvailable, initialState, type SkuState } from './state';
import { given } from './testing/given-when-then';
import { alloc, at, cmd, ev, iso, T0 } from './testing/fixtures';

/** Stock at one location, as the read side would show it. */
const stockOf = (state: SkuState, location: string) => state.locations.get(location);

/** Sum of allocations at a location over the holds still held: what reserved + shortfall must equal. */
function heldAt(state: SkuState, location: string): number {
  let total = 0;
  for (const reservation of state.reservations.values()) {
    if (reservation.status !== 'held') continue;
    for (const allocation of reservation.allocations) if (allocation.location === location) total += allocation.quantity;
  }
  return total;
}

const BAD_QUANTITIES: unknown[] = [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 1_000_000_001, '5', null];

describe('decide', () => {
  describe('ReceiveStock', () => {
    it('records the receipt and answers it', () => {
      given()
        .when(cmd.receive('r1', 'A', 5))
        .then([ev.received('r1', 'A', 5)])
        .thenResult({ receiptId: 'r1', location: 'A', quantity: 5 })
        .thenState((state) => expect(stockOf(state, 'A')).toEqual({ onHand: 5, reserved: 0, shortfall: 0, pendingInspection: 0, writtenOff: 0 }));
    });

    it('keeps the reference', () => {
      given().when(cmd.receive('r1', 'A', 5, { reference: 'PO-7' })).then([ev.received('r1', 'A', 5, 'PO-7')]);
    });

    it('accepts the largest quantity', () => {
      given().when(cmd.receive('r1', 'A', 1_000_000_000)).then([ev.received('r1', 'A', 1_000_000_000)]);
    });

    it.each(BAD_QUANTITIES)('refuses quantity %p', (quantity) => {
      const spec = given().when(cmd.receive('r1', 'A', quantity as number)).thenThrows('INVALID_COMMAND');
      expect(spec.decision.error?.details).toEqual({ field: 'quantity' });
    });

    it('answers a repeat with the first result and appends nothing', () => {
      given([ev.received('r1', 'A', 5, 'PO-7')])
        .when(cmd.receive('r1', 'A', 5, { reference: 'PO-7', now: at(600) }))
        .thenNothingHappens()
        .thenResult({ receiptId: 'r1', location: 'A', quantity: 5 });
    });

    it('treats a missing reference and a null one as the same payload', () => {
      given([ev.received('r1', 'A', 5)]).when(cmd.receive('r1', 'A', 5, { reference: null })).thenNothingHappens();
    });

    it.each([
      ['location', cmd.receive('r1', 'B', 5)],
      ['quantity', cmd.receive('r1', 'A', 6)],
      ['reference', cmd.receive('r1', 'A', 5, { reference: 'PO-8' })],
    ])('refuses a repeat with another %s', (key, command) => {
      const spec = given([ev.received('r1', 'A', 5)]).when(command).thenThrows('IDEMPOTENCY_CONFLICT');
      expect(spec.decision.error?.details).toEqual({ field: 'receiptId', key });
    });

    it('covers a shortfall before adding sellable stock', () => {
      given([ev.received('r0', 'A', 5), ev.reserved('h1', [alloc('A', 5)]), ev.adjusted('c1', 'A', { mode: 'count', delta: -3, countedQuantity: 2 })])
        .when(cmd.receive('r1', 'A', 4))
        .then([ev.received('r1', 'A', 4)])
        .thenState((state) => expect(stockOf(state, 'A')).toMatchObject({ onHand: 6, reserved: 5, shortfall: 0 }));
    });
  });

  describe('AdjustStock', () => {
    const stocked = [ev.received('r1', 'A', 10)];

    it('records a count as the delta it implies', () => {
      given(stocked)
        .when(cmd.count('c1', 'A', 7))
        .then([ev.adjusted('c1', 'A', { mode: 'count', delta: -3, countedQuantity: 7 })])
        .thenResult({ adjustmentId: 'c1', location: 'A', delta: -3, countedQuantity: 7, reason: 'cycle_count', shortfall: 0 })
        .thenState((state) => expect(stockOf(state, 'A')?.onHand).toBe(7));
    });

    it('records a delta as the count it implies', () => {
      given(stocked)
        .when(cmd.adjustBy('d1', 'A', -4, { reason: 'damage' }))
        .then([ev.adjusted('d1', 'A', { mode: 'delta', delta: -4, countedQuantity: 6, reason: 'damage' })])
        .thenResult({ adjustmentId: 'd1', location: 'A', delta: -4, countedQuantity: 6, reason: 'damage', shortfall: 0 });
    });

    it('counts a location it has never seen', () => {
      given().when(cmd.count('c1', 'Z', 3)).then([ev.adjusted('c1', 'Z', { mode: 'count', delta: 3, countedQuantity: 3 })]);
    });

    it('accepts a count of zero and a delta of zero', () => {
      given(stocked).when(cmd.count('c1', 'A', 0)).then([ev.adjusted('c1', 'A', { mode: 'count', delta: -10, countedQuantity: 0 })]);
      given(stocked).when(cmd.adjustBy('d1', 'A', 0)).then([ev.adjusted('d1', 'A', { mode: 'delta', delta: 0, countedQuantity: 10 })]);
    });

    it('refuses a delta that would leave less than nothing on hand', () => {
      const spec = given(stocked).when(cmd.adjustBy('d1', 'A', -11)).thenThrows('INVALID_STATE');
      expect(spec.decision.error?.details).toEqual({ onHand: 10 });
    });

    it.each([
      ['neither', { countedQuantity: undefined, delta: undefined }],
      ['both', { countedQuantity: 3, delta: 1 }],
    ])('refuses %s of countedQuantity and delta', (_, fields) => {
      given(stocked).when({ ...cmd.count('c1', 'A', 0), ...fields }).thenThrows('INVALID_COMMAND');
    });

    it.each([-1, 1.5, Number.NaN, 1_000_000_001, '3'])('refuses countedQuantity %p', (countedQuantity) => {
      given(stocked).when(cmd.count('c1', 'A', countedQuantity as number)).thenThrows('INVALID_COMMAND');
    });

    it.each([1.5, Number.NaN, Number.NEGATIVE_INFINITY, -1_000_000_001, null])('refuses delta %p', (delta) => {
      given(stocked).when(cmd.adjustBy('d1', 'A', delta as number)).thenThrows('INVALID_COMMAND');
    });

    describe('shortage', () => {
      // h1 and h2 hold at A, h3 holds at B only, h4 was committed: only h1 and h2 are at risk at A.
      const holds = [
        ev.received('r1', 'A', 10),
        ev.received('r2', 'B', 10),
        ev.reserved('h1', [alloc('A', 4)]),
        ev.reserved('h2', [alloc('B', 2), alloc('A', 3)]),
        ev.reserved('h3', [alloc('B', 1)]),
        ev.reserved('h4', [alloc('A', 1)]),
        ev.committed('h4', [alloc('A', 1)]),
      ];

      it('names the holds at the location when a count finds less than they hold', () => {
        given(holds)
          .when(cmd.count('c1', 'A', 5))
          .then([ev.adjusted('c1', 'A', { mode: 'count', delta: -4, countedQuantity: 5 }), ev.shortage('c1', 'A', 2, ['h1', 'h2'])])
          .thenResult({ adjustmentId: 'c1', location: 'A', delta: -4, countedQuantity: 5, reason: 'cycle_count', shortfall: 2 })
          .thenState((state) => {
            expect(stockOf(state, 'A')).toMatchObject({ onHand: 5, reserved: 5, shortfall: 2 });
            expect(channelAvailable(state, ['A'])).toBe(0);
            expect(stockOf(state, 'A')!.reserved + stockOf(state, 'A')!.shortfall).toBe(heldAt(state, 'A'));
          });
      });

      it('reports nothing when the count still covers every hold', () => {
        given(holds).when(cmd.count('c1', 'A', 7)).then([ev.adjusted('c1', 'A', { mode: 'count', delta: -2, countedQuantity: 7 })]);
      });

      it('never lets available go below zero, even for a count of zero', () => {
        given(holds)
          .when(cmd.count('c1', 'A', 0))
          .then([ev.adjusted('c1', 'A', { mode: 'count', delta: -9, countedQuantity: 0 }), ev.shortage('c1', 'A', 7, ['h1', 'h2'])])
          .thenState((state) => expect(stockOf(state, 'A')).toMatchObject({ onHand: 0, reserved: 0, shortfall: 7 }));
      });

      it('names the holds again when a later count confirms a gap that is still there', () => {
        given([...holds, ev.adjusted('c1', 'A', { mode: 'count', delta: -4, countedQuantity: 5 })])
          .when(cmd.count('c2', 'A', 6))
          .then([ev.adjusted('c2', 'A', { mode: 'count', delta: 1, countedQuantity: 6 }), ev.shortage('c2', 'A', 1, ['h1', 'h2'])]);
      });

      it('reports a delta that deepens the shortage, but not one that narrows it', () => {
        const short = [...holds, ev.adjusted('c1', 'A', { mode: 'count', delta: -4, countedQuantity: 5 })];
        given(short)
          .when(cmd.adjustBy('d1', 'A', -1, { reason: 'damage' }))
          .then([ev.adjusted('d1', 'A', { mode: 'delta', delta: -1, countedQuantity: 4, reason: 'damage' }), ev.shortage('d1', 'A', 3, ['h1', 'h2'])]);
        given(short)
          .when(cmd.adjustBy('d1', 'A', 1))
          .then([ev.adjusted('d1', 'A', { mode: 'delta', delta: 1, countedQuantity: 6 })])
          .thenState((state) => expect(stockOf(state, 'A')).toMatchObject({ onHand: 6, reserved: 6, shortfall: 1 }));
      });

      it('covers the shortfall first with later receipts and restocks', () => {
        const short = [...holds, ev.adjusted('c1', 'A', { mode: 'count', delta: -4, countedQuantity: 5 }), ev.returned('x1', 'A', 3)];
        given(short)
          .when(cmd.receive('r3', 'A', 1))
          .thenState((state) => expect(stockOf(state, 'A')).toMatchObject({ onHand: 6, reserved: 6, shortfall: 1 }));
        given(short)
          .when(cmd.inspect('x1', 3, 0))
          .thenState((state) => expect(stockOf(state, 'A')).toMatchObject({ onHand: 8, reserved: 7, shortfall: 0, pendingInspection: 0 }));
      });

      it('refuses to commit a hold the count left without stock until a receipt covers it', () => {
        // h1 (4) and h2 (3 at A) hold 7 at A; a count of 2 leaves 5 of them without stock.
        const short = [...holds, ev.adjusted('c1', 'A', { mode: 'count', delta: -7, countedQuantity: 2 })];
        const spec = given(short).when(cmd.commit('h1')).thenThrows('INSUFFICIENT_STOCK');
        expect(spec.decision.error?.details).toEqual({ location: 'A', available: 2 });
        given([...short, ev.received('r3', 'A', 2)]).when(cmd.commit('h1')).then([ev.committed('h1', [alloc('A', 4)])]);
      });

      it('releasing a short hold gives back the unbacked units first', () => {
        given([...holds, ev.adjusted('c1', 'A', { mode: 'count', delta: -4, countedQuantity: 5 })])
          .when(cmd.release('h1'))
          .then([ev.released('h1', [alloc('A', 4)])])
          .thenState((state) => expect(stockOf(state, 'A')).toMatchObject({ onHand: 5, reserved: 3, shortfall: 0 }));
      });
    });

    describe('repeats', () => {
      it('answers a repeated count with the first result, shortfall included, after a receipt covered it', () => {
        given([
          ev.received('r1', 'A', 5),
          ev.reserved('h1', [alloc('A', 5)]),
          ev.adjusted('c1', 'A', { mode: 'count', delta: -3, countedQuantity: 2 }),
          ev.received('r2', 'A', 3),
        ])
          .when(cmd.count('c1', 'A', 2))
          .thenNothingHappens()
          .thenResult({ adjustmentId: 'c1', location: 'A', delta: -3, countedQuantity: 2, reason: 'cycle_count', shortfall: 3 });
      });

      it('answers a repeated delta with the first result although on hand has moved', () => {
        given([ev.received('r1', 'A', 10), ev.adjusted('d1', 'A', { mode: 'delta', delta: -2, countedQuantity: 8 }), ev.received('r2', 'A', 1)])
          .when(cmd.adjustBy('d1', 'A', -2))
          .thenNothingHappens()
          .thenResult({ adjustmentId: 'd1', location: 'A', delta: -2, countedQuantity: 8, reason: 'correction', shortfall: 0 });
      });

      const counted = [ev.received('r1', 'A', 10), ev.adjusted('c1', 'A', { mode: 'count', delta: -3, countedQuantity: 7 })];
      it.each([
        ['countedQuantity', cmd.count('c1', 'A', 6)],
        ['mode', cmd.adjustBy('c1', 'A', -3, { reason: 'cycle_count' })],
        ['location', cmd.count('c1', 'B', 7)],
        ['reason', cmd.count('c1', 'A', 7, { reason: 'shrinkage' })],
      ])('refuses a repeat with another %s', (_, command) => {
        given(counted).when(command).thenThrows('IDEMPOTENCY_CONFLICT');
      });
    });
  });

  describe('ReserveStock', () => {
    it('holds stock at one location until now + ttl', () => {
      given([ev.received('r1', 'A', 5)])
        .when(cmd.reserve('h1', 3, { ttlSeconds: 90, orderRef: 'o-1', now: at(10) }))
        .then([ev.reserved('h1', [alloc('A', 3)], { ttlSeconds: 90, orderRef: 'o-1', now: at(10) })])
        .thenResult({ reservationId: 'h1', status: 'held', channel: 'web', quantity: 3, allocations: [alloc('A', 3)], expiresAt: iso(at(100)) })
        .thenState((state) => {
          expect(stockOf(state, 'A')).toMatchObject({ onHand: 5, reserved: 3 });
          expect(state.reservations.get('h1')).toMatchObject({ status: 'held', expiresAtMs: at(100) });
        });
    });

    it("splits across the channel's locations in the channel's order", () => {
      given([ev.received('r1', 'A', 5), ev.received('r2', 'B', 2), ev.received('r3', 'C', 5)])
        .when(cmd.reserve('h1', 6, { locations: ['B', 'C', 'A'] }))
        .then([ev.reserved('h1', [alloc('B', 2), alloc('C', 4)])]);
    });

    it('takes every location in first-seen order when the channel has no list', () => {
      // C is seen first (through a return), then A, then B.
      given([ev.returned('x1', 'C', 1), ev.received('r1', 'A', 2), ev.received('r2', 'B', 5), ev.received('r3', 'C', 1)])
        .when(cmd.reserve('h1', 5, { locations: null }))
        .then([ev.reserved('h1', [alloc('C', 1), alloc('A', 2), alloc('B', 2)])]);
    });

    it('skips locations that are empty, fully held or unknown', () => {
      given([ev.received('r1', 'A', 2), ev.reserved('h0', [alloc('A', 2)]), ev.received('r2', 'B', 3), ev.adjusted('c1', 'C', { mode: 'count', delta: 0, countedQuantity: 0 })])
        .when(cmd.reserve('h1', 2, { locations: ['NOWHERE', 'A', 'C', 'B'] }))
        .then([ev.reserved('h1', [alloc('B', 2)])]);
    });

    it('takes from a location listed twice only once', () => {
      const spec = given([ev.received('r1', 'A', 2)]).when(cmd.reserve('h1', 3, { locations: ['A', 'A'] })).thenThrows('INSUFFICIENT_STOCK');
      expect(spec.decision.error?.details).toEqual({ available: 2 });
    });

    it("refuses more than the channel's locations have available, naming what they have", () => {
      const spec = given([ev.received('r1', 'A', 5), ev.received('r2', 'B', 50), ev.reserved('h0', [alloc('A', 2)])])
        .when(cmd.reserve('h1', 4, { locations: ['A'] }))
        .thenThrows('INSUFFICIENT_STOCK');
      expect(spec.decision.error?.details).toEqual({ available: 3 });
    });

    it('refuses on a SKU with no stock at all', () => {
      given().when(cmd.reserve('h1', 1)).thenThrows('INSUFFICIENT_STOCK');
    });

    describe('expired holds', () => {
      const history = [ev.received('r1', 'A', 5), ev.reserved('old', [alloc('A', 4)], { ttlSeconds: 60, now: T0 })];

      it('releases a hold whose time is up in the same decision when it is in the way', () => {
        given(history)
          .when(cmd.reserve('h1', 3, { now: at(60) }))
          .then([ev.released('old', [alloc('A', 4)], 'expired'), ev.reserved('h1', [alloc('A', 3)], { now: at(60) })])
          .thenState((state) => {
            expect(state.reservations.get('old')).toMatchObject({ status: 'expired', releaseReason: 'expired' });
            expect(stockOf(state, 'A')).toMatchObject({ onHand: 5, reserved: 3 });
          });
      });

      it('lets a hold with time left block', () => {
        given(history).when(cmd.reserve('h1', 3, { now: at(59.999) })).thenThrows('INSUFFICIENT_STOCK');
      });

      it('leaves expired holds alone when the stock is there anyway', () => {
        given(history).when(cmd.reserve('h1', 1, { now: at(120) })).then([ev.reserved('h1', [alloc('A', 1)], { now: at(120) })]);
      });

      it('releases every expired hold, and still refuses when they free too little', () => {
        const spec = given(history).when(cmd.reserve('h1', 6, { now: at(120) })).thenThrows('INSUFFICIENT_STOCK');
        expect(spec.decision.error?.details).toEqual({ available: 5 });
      });

      it('counts only the backed units of an expired hold as freed', () => {
        // old holds 4 of A; a count of 2 leaves 2 of them unbacked, so releasing it frees 2.
        const short = [...history, ev.adjusted('c1', 'A', { mode: 'count', delta: -3, countedQuantity: 2 })];
        given(short)
          .when(cmd.reserve('h1', 2, { now: at(61) }))
          .then([ev.released('old', [alloc('A', 4)], 'expired'), ev.reserved('h1', [alloc('A', 2)], { now: at(61) })])
          .thenState((state) => expect(stockOf(state, 'A')).toMatchObject({ onHand: 2, reserved: 2, shortfall: 0 }));
        const spec = given(short).when(cmd.reserve('h1', 3, { now: at(61) })).thenThrows('INSUFFICIENT_STOCK');
        expect(spec.decision.error?.details).toEqual({ available: 2 });
      });
    });

    describe('repeats', () => {
      const held = [ev.received('r1', 'A', 5), ev.reserved('h1', [alloc('A', 3)], { orderRef: 'o-1' })];
      const first: ReservationResult = { reservationId: 'h1', status: 'held', channel: 'web', quantity: 3, allocations: [alloc('A', 3)], expiresAt: iso(at(60)) };

      it('answers a repeat with the first result, even once committed and out of stock', () => {
        given([...held, ev.committed('h1', [alloc('A', 3)]), ev.sold('s1', [alloc('A', 2)])])
          .when(cmd.reserve('h1', 3, { orderRef: 'o-1', now: at(3600) }))
          .thenNothingHappens()
          .thenResult(first);
      });

      it.each([
        ['channel', cmd.reserve('h1', 3, { orderRef: 'o-1', channel: 'pos' })],
        ['quantity', cmd.reserve('h1', 2, { orderRef: 'o-1' })],
        ['ttlSeconds', cmd.reserve('h1', 3, { orderRef: 'o-1', ttlSeconds: 61 })],
        ['orderRef', cmd.reserve('h1', 3)],
      ])('refuses a repeat with another %s', (key, command) => {
        const spec = given(held).when(command).thenThrows('IDEMPOTENCY_CONFLICT');
        expect(spec.decision.error?.details).toEqual({ field: 'reservationId', key });
      });

      it('lets an id that was refused for stock be tried again', () => {
        given([ev.received('r1', 'A', 1)]).when(cmd.reserve('h1', 2)).thenThrows('INSUFFICIENT_STOCK');
        given([ev.received('r1', 'A', 1), ev.received('r2', 'A', 1)]).when(cmd.reserve('h1', 2)).then([ev.reserved('h1', [alloc('A', 2)])]);
      });
    });

    it.each(BAD_QUANTITIES)('refuses quantity %p', (quantity) => {
      given([ev.received('r1', 'A', 5)]).when(cmd.reserve('h1', quantity as number)).thenThrows('INVALID_COMMAND');
    });

    it.each([0, -5, 2.5, Number.NaN])('refuses ttlSeconds %p', (ttlSeconds) => {
      const spec = given([ev.received('r1', 'A', 5)]).when(cmd.reserve('h1', 1, { ttlSeconds })).thenThrows('INVALID_COMMAND');
      expect(spec.decision.error?.details).toEqual({ field: 'ttlSeconds' });
    });
  });

  describe('CommitReservation', () => {
    const held = [ev.received('r1', 'A', 2), ev.received('r2', 'B', 5), ev.reserved('h1', [alloc('A', 2), alloc('B', 1)])];

    it('takes the held units out of stock at every location of the hold', () => {
      given(held)
        .when(cmd.commit('h1', at(59)))
        .then([ev.committed('h1', [alloc('A', 2), alloc('B', 1)])])
        .thenResult({ reservationId: 'h1', status: 'committed' })
        .thenState((state) => {
          expect(stockOf(state, 'A')).toMatchObject({ onHand: 0, reserved: 0 });
          expect(stockOf(state, 'B')).toMatchObject({ onHand: 4, reserved: 0 });
          expect(state.reservations.get('h1')?.status).toBe('committed');
          expect(state.held.size).toBe(0);
        });
    });

    it('answers a repeat with no events', () => {
      given([...held, ev.committed('h1', [alloc('A', 2), alloc('B', 1)])])
        .when(cmd.commit('h1', at(3600)))
        .thenNothingHappens()
        .thenResult({ reservationId: 'h1', status: 'committed' });
    });

    it('refuses an unknown reservation', () => {
      const spec = given(held).when(cmd.commit('nope')).thenThrows('RESERVATION_NOT_FOUND');
      expect(spec.decision.error?.details).toEqual({ reservationId: 'nope' });
    });

    it.each([
      ['released', 'cancelled' as const],
      ['expired', 'expired' as const],
    ])('refuses a hold that was %s, appending nothing', (status, reason) => {
      const spec = given([...held, ev.released('h1', [alloc('A', 2), alloc('B', 1)], reason)]).when(cmd.commit('h1')).thenThrows('INVALID_STATE');
      expect(spec.decision.error?.details).toEqual({ status });
    });

    it('records the expiry of a hold whose time is up and refuses the commit in the same decision', () => {
      const spec = given(held)
        .when(cmd.commit('h1', at(60)))
        .thenThrows('INVALID_STATE', [ev.released('h1', [alloc('A', 2), alloc('B', 1)], 'expired')])
        .thenState((state) => {
          expect(state.reservations.get('h1')).toMatchObject({ status: 'expired', releaseReason: 'expired' });
          expect(stockOf(state, 'A')?.reserved).toBe(0);
        });
      expect(spec.decision.error?.details).toEqual({ status: 'expired' });
    });
  });

  describe('ReleaseReservation', () => {
    const held = [ev.received('r1', 'A', 5), ev.reserved('h1', [alloc('A', 3)])];

    it('gives the held units back', () => {
      given(held)
        .when(cmd.release('h1'))
        .then([ev.released('h1', [alloc('A', 3)])])
        .thenResult({ reservationId: 'h1', status: 'released', reason: 'cancelled' })
        .thenState((state) => {
          expect(stockOf(state, 'A')).toMatchObject({ onHand: 5, reserved: 0 });
          expect(state.reservations.get('h1')).toMatchObject({ status: 'released', releaseReason: 'cancelled' });
        });
    });

    it('answers a repeat with the reason the hold actually ended for', () => {
      given([...held, ev.released('h1', [alloc('A', 3)])]).when(cmd.release('h1')).thenNothingHappens()
        .thenResult({ reservationId: 'h1', status: 'released', reason: 'cancelled' });
      given([...held, ev.released('h1', [alloc('A', 3)], 'expired')]).when(cmd.release('h1')).thenNothingHappens()
        .thenResult({ reservationId: 'h1', status: 'released', reason: 'expired' });
    });

    it('refuses a committed hold', () => {
      given([...held, ev.committed('h1', [alloc('A', 3)])]).when(cmd.release('h1')).thenThrows('INVALID_STATE');
    });

    it('refuses an unknown reservation', () => {
      given(held).when(cmd.release('nope')).thenThrows('RESERVATION_NOT_FOUND');
    });
  });

  describe('ExpireReservations', () => {
    const holds = [
      ev.received('r1', 'A', 10),
      ev.reserved('h30', [alloc('A', 1)], { ttlSeconds: 30 }),
      ev.reserved('h60', [alloc('A', 2)], { ttlSeconds: 60 }),
      ev.reserved('h90', [alloc('A', 3)], { ttlSeconds: 90 }),
      ev.reserved('done', [alloc('A', 1)], { ttlSeconds: 10 }),
      ev.committed('done', [alloc('A', 1)]),
    ];

    it('releases every hold whose time is up, and only those', () => {
      given(holds)
        .when(cmd.expire(at(60)))
        .then([ev.released('h30', [alloc('A', 1)], 'expired'), ev.released('h60', [alloc('A', 2)], 'expired')])
        .thenResult({ expired: ['h30', 'h60'] })
        .thenState((state) => {
          expect([...state.held]).toEqual(['h90']);
          expect(state.earliestHeldExpiryMs).toBe(at(90));
          expect(stockOf(state, 'A')).toMatchObject({ onHand: 9, reserved: 3 });
        });
    });

    it('appends nothing when no time is up', () => {
      given(holds).when(cmd.expire(at(29))).thenNothingHappens().thenResult({ expired: [] });
      given().when(cmd.expire()).thenNothingHappens().thenResult({ expired: [] });
    });
  });

  describe('SellStock', () => {
    const stocked = [ev.received('r1', 'A', 3), ev.received('r2', 'B', 4), ev.reserved('h1', [alloc('A', 1)])];

    it('sells from the channel locations in order, splitting when one is short, around what is held', () => {
      given(stocked)
        .when(cmd.sell('s1', 4, { channel: 'pos', locations: ['A', 'B'] }))
        .then([ev.sold('s1', [alloc('A', 2), alloc('B', 2)], 'pos')])
        .thenResult({ saleId: 's1', channel: 'pos', quantity: 4, allocations: [alloc('A', 2), alloc('B', 2)] })
        .thenState((state) => {
          expect(stockOf(state, 'A')).toMatchObject({ onHand: 1, reserved: 1 });
          expect(stockOf(state, 'B')).toMatchObject({ onHand: 2, reserved: 0 });
        });
    });

    it('refuses more than the channel has available', () => {
      const spec = given(stocked).when(cmd.sell('s1', 3, { locations: ['A'] })).thenThrows('INSUFFICIENT_STOCK');
      expect(spec.decision.error?.details).toEqual({ available: 2 });
    });

    it('releases an expired hold in the same decision when it is in the way', () => {
      given(stocked)
        .when(cmd.sell('s1', 3, { locations: ['A'], now: at(61) }))
        .then([ev.released('h1', [alloc('A', 1)], 'expired'), ev.sold('s1', [alloc('A', 3)])]);
    });

    it('answers a repeat with the first result', () => {
      given([...stocked, ev.sold('s1', [alloc('A', 2)], 'pos'), ev.adjusted('c1', 'A', { mode: 'count', delta: -1, countedQuantity: 0 })])
        .when(cmd.sell('s1', 2, { channel: 'pos', locations: ['A'] }))
        .thenNothingHappens()
        .thenResult({ saleId: 's1', channel: 'pos', quantity: 2, allocations: [alloc('A', 2)] });
    });

    it.each([
      ['channel', cmd.sell('s1', 2, { channel: 'web' })],
      ['quantity', cmd.sell('s1', 1, { channel: 'pos' })],
    ])('refuses a repeat with another %s', (key, command) => {
      const spec = given([...stocked, ev.sold('s1', [alloc('A', 2)], 'pos')]).when(command).thenThrows('IDEMPOTENCY_CONFLICT');
      expect(spec.decision.error?.details).toEqual({ field: 'saleId', key });
    });

    it.each(BAD_QUANTITIES)('refuses quantity %p', (quantity) => {
      given(stocked).when(cmd.sell('s1', quantity as number)).thenThrows('INVALID_COMMAND');
    });
  });

  describe('ReceiveReturn', () => {
    it('holds the units for inspection without making them sellable', () => {
      given([ev.received('r1', 'A', 1)])
        .when(cmd.receiveReturn('x1', 'A', 2, { orderRef: 'o-1', channel: 'web' }))
        .then([ev.returned('x1', 'A', 2, { orderRef: 'o-1', channel: 'web' })])
        .thenResult({ returnId: 'x1', status: 'pending_inspection', location: 'A', quantity: 2 })
        .thenState((state) => {
          expect(stockOf(state, 'A')).toMatchObject({ onHand: 1, pendingInspection: 2 });
          expect(channelAvailable(state, null)).toBe(1);
        });
    });

    it('answers a repeat with the first result, even after inspection', () => {
      given([ev.returned('x1', 'A', 2), ev.inspected('x1', 'A', 2, 0)])
        .when(cmd.receiveReturn('x1', 'A', 2))
        .thenNothingHappens()
        .thenResult({ returnId: 'x1', status: 'pending_inspection', location: 'A', quantity: 2 });
    });

    it.each([
      ['location', cmd.receiveReturn('x1', 'B', 2)],
      ['quantity', cmd.receiveReturn('x1', 'A', 3)],
      ['orderRef', cmd.receiveReturn('x1', 'A', 2, { orderRef: 'o-2' })],
      ['channel', cmd.receiveReturn('x1', 'A', 2, { channel: 'pos' })],
    ])('refuses a repeat with another %s', (key, command) => {
      const spec = given([ev.returned('x1', 'A', 2)]).when(command).thenThrows('IDEMPOTENCY_CONFLICT');
      expect(spec.decision.error?.details).toEqual({ field: 'returnId', key });
    });

    it.each(BAD_QUANTITIES)('refuses quantity %p', (quantity) => {
      given().when(cmd.receiveReturn('x1', 'A', quantity as number)).thenThrows('INVALID_COMMAND');
    });
  });

  describe('InspectReturn', () => {
    const pending = [ev.received('r1', 'A', 1), ev.returned('x1', 'A', 5)];

    it('restocks and writes off exactly what was received', () => {
      given(pending)
        .when(cmd.inspect('x1', 3, 2))
        .then([ev.inspected('x1', 'A', 3, 2)])
        .thenResult({ returnId: 'x1', status: 'inspected', restockQuantity: 3, writeOffQuantity: 2 })
        .thenState((state) => {
          expect(stockOf(state, 'A')).toEqual({ onHand: 4, reserved: 0, shortfall: 0, pendingInspection: 0, writtenOff: 2 });
          expect(state.returns.get('x1')).toMatchObject({ status: 'inspected', restockQuantity: 3, writeOffQuantity: 2 });
        });
    });

    it('can restock everything or write everything off', () => {
      given(pending).when(cmd.inspect('x1', 5, 0)).thenState((state) => expect(stockOf(state, 'A')).toMatchObject({ onHand: 6, writtenOff: 0 }));
      given(pending).when(cmd.inspect('x1', 0, 5)).thenState((state) => expect(stockOf(state, 'A')).toMatchObject({ onHand: 1, writtenOff: 5 }));
    });

    it.each([
      [6, 0],
      [4, 0],
      [3, 3],
    ])('refuses restock %p + write-off %p for 5 received', (restock, writeOff) => {
      const spec = given(pending).when(cmd.inspect('x1', restock, writeOff)).thenThrows('INVALID_STATE');
      expect(spec.decision.error?.details).toEqual({ received: 5 });
    });

    it('refuses an unknown return', () => {
      given(pending).when(cmd.inspect('x2', 1, 0)).thenThrows('RETURN_NOT_FOUND');
    });

    it('answers a repeat with the first result and refuses another split', () => {
      const inspected = [...pending, ev.inspected('x1', 'A', 3, 2)];
      given(inspected).when(cmd.inspect('x1', 3, 2)).thenNothingHappens()
        .thenResult({ returnId: 'x1', status: 'inspected', restockQuantity: 3, writeOffQuantity: 2 });
      given(inspected).when(cmd.inspect('x1', 5, 0)).thenThrows('IDEMPOTENCY_CONFLICT');
    });

    it.each([
      [-1, 6],
      [1.5, 3.5],
      [Number.NaN, 5],
    ])('refuses restock %p / write-off %p', (restock, writeOff) => {
      given(pending).when(cmd.inspect('x1', restock, writeOff)).thenThrows('INVALID_COMMAND');
    });
  });

  describe('any command', () => {
    it.each([Number.NaN, -1, Number.POSITIVE_INFINITY, 8.64e15, '2026-01-01'])('refuses now = %p', (now) => {
      const spec = given([ev.received('r1', 'A', 5)])
        .when(cmd.reserve('h1', 1, { now: now as number }))
        .thenThrows('INVALID_COMMAND');
      expect(spec.decision.error?.details).toEqual({ field: 'now' });
    });

    it('refuses a command type it does not know', () => {
      given().when({ type: 'ShipStock', now: T0 } as unknown as SkuCommand).thenThrows('INVALID_COMMAND');
    });

    it('returns DomainErrors rather than throwing them', () => {
      const decision = decide(cmd.commit('nope'), initialState());
      expect(decision.error).toBeInstanceOf(DomainError);
      expect(decision.error).toMatchObject({ name: 'DomainError', code: 'RESERVATION_NOT_FOUND' });
    });
  });
});
