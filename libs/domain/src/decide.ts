import { allocate, availableWith } from './allocation';
import type * as C from './commands';
import type { Decider, Decision } from './decider';
import { DomainError } from './errors';
import { ADJUSTMENT_REASONS, EventTypes, type InventoryEvent, type ReservationReleased } from './events';
import type * as R from './results';
import { evolve } from './evolve';
import { initialState, type Reservation, type SkuState } from './state';

/** The outcome of one SKU command. */
export type SkuDecision = Decision<InventoryEvent, R.CommandResult>;

const MAX_QUANTITY = 1_000_000_000;
/** Latest `now` for which now + the longest TTL is still a valid Date (8.64e15 ms is Date's limit). */
const MAX_TIME = 8_640_000_000_000_000 - MAX_QUANTITY * 1000;

export function decide(command: C.SkuCommand, state: SkuState): SkuDecision {
  try {
    assertTime(command.now);
    switch (command.type) {
      case 'ReceiveStock':
        return receiveStock(command, state);
      case 'AdjustStock':
        return adjustStock(command, state);
      case 'ReserveStock':
        return reserveStock(command, state);
      case 'CommitReservation':
        return commitReservation(command, state);
      case 'ReleaseReservation':
        return releaseReservation(command, state);
      case 'ExpireReservations':
        return expireReservations(command, state);
      case 'SellStock':
        return sellStock(command, state);
      case 'ReceiveReturn':
        return receiveReturn(command, state);
      case 'InspectReturn':
        return inspectReturn(command, state);
      default: {
        const unknown: never = command;
        // Commands arrive from JSON: a type the types rule out would otherwise answer undefined.
        throw new DomainError('INVALID_COMMAND', `unknown command type ${(unknown as { type: unknown }).type}`, { field: 'type' });
      }
    }
  } catch (error) {
    if (error instanceof DomainError) return { events: [], error };
    throw error;
  }
}

function receiveStock(command: C.ReceiveStock, state: SkuState): SkuDecision {
  const { receiptId, location, quantity } = command;
  const reference = command.reference ?? null;
  assertQuantity('quantity', quantity, 1);
  const result: R.ReceiptResult = { receiptId, location, quantity };
  const previous = state.receipts.get(receiptId);
  if (previous) {
    assertSame('receiptId', receiptId, previous, { location, quantity, reference });
    return { events: [], result };
  }
  return { events: [{ type: EventTypes.StockReceived, data: { receiptId, location, quantity, reference } }], result };
}

function adjustStock(command: C.AdjustStock, state: SkuState): SkuDecision {
  const { adjustmentId, location, reason } = command;
  const hasCount = command.countedQuantity !== undefined;
  if (hasCount === (command.delta !== undefined)) {
    throw new DomainError('INVALID_COMMAND', 'give exactly one of countedQuantity and delta', { field: 'countedQuantity' });
  }
  if (!ADJUSTMENT_REASONS.includes(reason)) {
    throw new DomainError('INVALID_COMMAND', `reason must be one of ${ADJUSTMENT_REASONS.join(', ')}`, { field: 'reason' });
  }
  const mode = hasCount ? 'count' : 'delta';
  const previous = state.adjustments.get(adjustmentId);
  if (previous) {
    const asked = hasCount ? { countedQuantity: command.countedQuantity } : { delta: command.delta };
    const before = hasCount ? { countedQuantity: previous.countedQuantity } : { delta: previous.delta };
    assertSame('adjustmentId', adjustmentId, { ...before, mode: previous.mode, location: previous.location, reason: previous.reason }, { ...asked, mode, location, reason });
    // The first run's shortfall, not today's: receipts since then may have covered it.
    return { events: [], result: { adjustmentId, location, delta: previous.delta, countedQuantity: previous.countedQuantity, reason, shortfall: previous.shortfall } };
  }
  const stock = state.locations.get(location);
  const onHand = stock?.onHand ?? 0;
  if (hasCount) assertQuantity('countedQuantity', command.countedQuantity, 0);
  else assertInteger('delta', command.delta);
  const countedQuantity = hasCount ? (command.countedQuantity as number) : onHand + (command.delta as number);
  if (countedQuantity < 0) {
    throw new DomainError('INVALID_STATE', `a delta of ${command.delta} would leave ${countedQuantity} on hand at ${location}`, { onHand });
  }
  const delta = countedQuantity - onHand;
  const events: InventoryEvent[] = [
    { type: EventTypes.StockAdjusted, data: { adjustmentId, location, mode, delta, countedQuantity, reason } },
  ];
  const held = (stock?.reserved ?? 0) + (stock?.shortfall ?? 0);
  const shortfall = Math.max(0, held - countedQuantity);
  // A count below what is held names the holds at risk even when an earlier count already found the
  // gap (the operator just confirmed it); a delta only does so when it deepens the shortage.
  if (shortfall > 0 && (hasCount || shortfall > (stock?.shortfall ?? 0))) {
    events.push({
      type: EventTypes.StockShortageDetected,
      data: { adjustmentId, location, shortfall, reservationsAtRisk: heldAt(state, location) },
    });
  }
  return { events, result: { adjustmentId, location, delta, countedQuantity, reason, shortfall } };
}

function reserveStock(command: C.ReserveStock, state: SkuState): SkuDecision {
  const { reservationId, channel, quantity, ttlSeconds, now } = command;
  const orderRef = command.orderRef ?? null;
  assertQuantity('quantity', quantity, 1);
  assertQuantity('ttlSeconds', ttlSeconds, 1);
  const previous = state.reservations.get(reservationId);
  if (previous) {
    assertSame('reservationId', reservationId, pick(previous), { channel, quantity, ttlSeconds, orderRef });
    return { events: [], result: reservationResult(previous) };
  }
  const { allocations, releases } = allocateReleasingExpired(state, command.channelLocations, quantity, now);
  const expiresAt = new Date(now + ttlSeconds * 1000).toISOString();
  const data = { reservationId, channel, quantity, allocations, ttlSeconds, expiresAt, orderRef };
  return {
    events: [...releases, { type: EventTypes.StockReserved, data }],
    result: { reservationId, status: 'held', channel, quantity, allocations, expiresAt },
  };
}

function commitReservation(command: C.CommitReservation, state: SkuState): SkuDecision {
  const reservation = findReservation(state, command.reservationId);
  const result: R.CommitResult = { reservationId: reservation.reservationId, status: 'committed' };
  if (reservation.status === 'committed') return { events: [], result };
  if (reservation.status !== 'held') {
    throw new DomainError('INVALID_STATE', `reservation ${reservation.reservationId} is ${reservation.status}`, { status: reservation.status });
  }
  if (reservation.expiresAtMs <= command.now) {
    return {
      events: [released(reservation, 'expired')],
      error: new DomainError('INVALID_STATE', `reservation ${reservation.reservationId} expired at ${reservation.expiresAt}`, { status: 'expired' }),
    };
  }
  for (const { location, quantity } of reservation.allocations) {
    const backed = state.locations.get(location)?.reserved ?? 0;
    if (backed < quantity) {
      throw new DomainError('INSUFFICIENT_STOCK', `a count left ${location} short of the units this hold needs`, { location, available: backed });
    }
  }
  const { reservationId, channel, quantity, allocations } = reservation;
  return { events: [{ type: EventTypes.ReservationCommitted, data: { reservationId, channel, quantity, allocations } }], result };
}

function releaseReservation(command: C.ReleaseReservation, state: SkuState): SkuDecision {
  const reservation = findReservation(state, command.reservationId);
  if (reservation.status === 'committed') {
    throw new DomainError('INVALID_STATE', `reservation ${reservation.reservationId} is committed`, { status: 'committed' });
  }
  if (reservation.status !== 'held') {
    const reason = reservation.releaseReason ?? 'cancelled';
    return { events: [], result: { reservationId: reservation.reservationId, status: 'released', reason } };
  }
  return {
    events: [released(reservation, command.reason)],
    result: { reservationId: reservation.reservationId, status: 'released', reason: command.reason },
  };
}

function expireReservations(command: C.ExpireReservations, state: SkuState): SkuDecision {
  const events = expiredHolds(state, command.now).map((reservation) => released(reservation, 'expired'));
  return { events, result: { expired: events.map((event) => event.data.reservationId) } };
}

function sellStock(command: C.SellStock, state: SkuState): SkuDecision {
  const { saleId, channel, quantity, now } = command;
  assertQuantity('quantity', quantity, 1);
  const previous = state.sales.get(saleId);
  if (previous) {
    assertSame('saleId', saleId, { channel: previous.channel, quantity: previous.quantity }, { channel, quantity });
    return { events: [], result: { saleId, ...previous } };
  }
  const { allocations, releases } = allocateReleasingExpired(state, command.channelLocations, quantity, now);
  return {
    events: [...releases, { type: EventTypes.StockSold, data: { saleId, channel, quantity, allocations } }],
    result: { saleId, channel, quantity, allocations },
  };
}

function receiveReturn(command: C.ReceiveReturn, state: SkuState): SkuDecision {
  const { returnId, location, quantity } = command;
  const orderRef = command.orderRef ?? null;
  const channel = command.channel ?? null;
  assertQuantity('quantity', quantity, 1);
  const previous = state.returns.get(returnId);
  if (previous) {
    const { location: l, quantity: q, orderRef: o, channel: c } = previous;
    assertSame('returnId', returnId, { location: l, quantity: q, orderRef: o, channel: c }, { location, quantity, orderRef, channel });
    // A repeat answers what the first run did, even once the return has been inspected since.
    return { events: [], result: { returnId, status: 'pending_inspection', location, quantity } };
  }
  return {
    events: [{ type: EventTypes.ReturnReceived, data: { returnId, location, quantity, orderRef, channel } }],
    result: { returnId, status: 'pending_inspection', location, quantity },
  };
}

function inspectReturn(command: C.InspectReturn, state: SkuState): SkuDecision {
  const { returnId, restockQuantity, writeOffQuantity } = command;
  assertQuantity('restockQuantity', restockQuantity, 0);
  assertQuantity('writeOffQuantity', writeOffQuantity, 0);
  const record = state.returns.get(returnId);
  if (!record) throw new DomainError('RETURN_NOT_FOUND', `no return ${returnId} for this SKU`, { returnId });
  const result: R.InspectionResult = { returnId, status: 'inspected', restockQuantity, writeOffQuantity };
  if (record.status === 'inspected') {
    const before = { restockQuantity: record.restockQuantity, writeOffQuantity: record.writeOffQuantity };
    assertSame('returnId', returnId, before, { restockQuantity, writeOffQuantity });
    return { events: [], result };
  }
  if (restockQuantity + writeOffQuantity !== record.quantity) {
    throw new DomainError(
      'INVALID_STATE',
      `restockQuantity + writeOffQuantity must account for the ${record.quantity} units received, no more and no fewer`,
      { received: record.quantity },
    );
  }
  return {
    events: [{ type: EventTypes.ReturnInspected, data: { returnId, location: record.location, restockQuantity, writeOffQuantity } }],
    result,
  };
}

/**
 * Allocates from the channel's locations. When short, holds whose time is up are released in the
 * same append first, so an expired hold never blocks a sale.
 */
function allocateReleasingExpired(state: SkuState, locations: readonly string[] | null, quantity: number, now: number) {
  const allocations = allocate(state, locations, quantity);
  if (allocations) return { allocations, releases: [] as ReservationReleased[] };
  const releases = expiredHolds(state, now).map((reservation) => released(reservation, 'expired'));
  const freed = freedByReleases(state, releases);
  const retried = releases.length ? allocate(state, locations, quantity, freed) : null;
  if (!retried) {
    const available = availableWith(state, locations, freed);
    throw new DomainError('INSUFFICIENT_STOCK', `only ${available} available for this channel`, { available });
  }
  return { allocations: retried, releases };
}

/** Sellable units that the given releases give back per location (unbacked units go back first). */
function freedByReleases(state: SkuState, releases: ReservationReleased[]): Map<string, number> {
  const releasedAt = new Map<string, number>();
  for (const { data } of releases) {
    for (const { location, quantity } of data.allocations) releasedAt.set(location, (releasedAt.get(location) ?? 0) + quantity);
  }
  const freed = new Map<string, number>();
  for (const [location, quantity] of releasedAt) {
    freed.set(location, Math.max(0, quantity - (state.locations.get(location)?.shortfall ?? 0)));
  }
  return freed;
}

function expiredHolds(state: SkuState, now: number): Reservation[] {
  if (state.earliestHeldExpiryMs > now) return [];
  const expired: Reservation[] = [];
  for (const id of state.held) {
    const reservation = state.reservations.get(id);
    if (reservation && reservation.expiresAtMs <= now) expired.push(reservation);
  }
  return expired;
}

function heldAt(state: SkuState, location: string): string[] {
  const ids: string[] = [];
  for (const id of state.held) {
    if (state.reservations.get(id)?.allocations.some((allocation) => allocation.location === location)) ids.push(id);
  }
  return ids;
}

function released(reservation: Reservation, reason: 'cancelled' | 'expired'): ReservationReleased {
  const { reservationId, channel, quantity, allocations } = reservation;
  return { type: EventTypes.ReservationReleased, data: { reservationId, channel, quantity, allocations, reason } };
}

function reservationResult(reservation: Reservation): R.ReservationResult {
  const { reservationId, channel, quantity, allocations, expiresAt } = reservation;
  return { reservationId, status: 'held', channel, quantity, allocations, expiresAt };
}

function pick(reservation: Reservation) {
  const { channel, quantity, ttlSeconds, orderRef } = reservation;
  return { channel, quantity, ttlSeconds, orderRef };
}

function findReservation(state: SkuState, reservationId: string): Reservation {
  const reservation = state.reservations.get(reservationId);
  if (!reservation) throw new DomainError('RESERVATION_NOT_FOUND', `no reservation ${reservationId} for this SKU`, { reservationId });
  return reservation;
}

/** Same id, other payload: the caller reused an id by mistake, and nothing must change. */
function assertSame(field: string, id: string, first: object, asked: Record<string, unknown>): void {
  const before = first as Record<string, unknown>;
  for (const key of Object.keys(asked)) {
    if (before[key] !== asked[key]) {
      throw new DomainError('IDEMPOTENCY_CONFLICT', `${field} ${id} was already used with a different ${key}`, { field, key });
    }
  }
}

function assertInteger(field: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || Math.abs(value) > MAX_QUANTITY) {
    throw new DomainError('INVALID_COMMAND', `${field} must be a whole number up to ${MAX_QUANTITY}`, { field });
  }
}

function assertQuantity(field: string, value: unknown, min: number): asserts value is number {
  assertInteger(field, value);
  if (value < min) throw new DomainError('INVALID_COMMAND', `${field} must be at least ${min}`, { field });
}

/** A NaN clock would skip every expiry check, and one past Date's range would throw while building expiresAt. */
function assertTime(now: unknown): void {
  if (typeof now !== 'number' || !Number.isFinite(now) || now < 0 || now > MAX_TIME) {
    throw new DomainError('INVALID_COMMAND', 'now must be a time in epoch milliseconds', { field: 'now' });
  }
}

/** The SKU stream's decider: one stream per SKU, every location of it. */
export const skuDecider: Decider<C.SkuCommand, InventoryEvent, SkuState, R.CommandResult> = { initialState, decide, evolve };
