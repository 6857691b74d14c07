import { EventTypes, type InventoryEvent } from './events';
import { applyToLocations } from './location-figures';
import { emptyLocation, type LocationStock, type SkuState } from './state';

/**
 * Folds one event into the state. It moves the given state forward in place and returns it: a SKU
 * with 20,000 holds cannot afford a copy per event on the hot path. Callers that must keep an older
 * state take `cloneState` first.
 */
export function evolve(state: SkuState, event: InventoryEvent): SkuState {
  applyToLocations((location) => stockAt(state, location), event);
  switch (event.type) {
    case EventTypes.StockReceived: {
      const { receiptId, location, quantity, reference } = event.data;
      state.receipts.set(receiptId, { location, quantity, reference });
      return state;
    }
    case EventTypes.StockAdjusted: {
      const { adjustmentId, location, mode, delta, countedQuantity, reason } = event.data;
      // The figures have already moved: what is short now is what this adjustment answered, and repeats answer it too.
      const { shortfall } = stockAt(state, location);
      state.adjustments.set(adjustmentId, { location, mode, delta, countedQuantity, reason, shortfall });
      return state;
    }
    case EventTypes.StockShortageDetected:
      return state;
    case EventTypes.StockReserved: {
      const data = event.data;
      const expiresAtMs = Date.parse(data.expiresAt);
      state.reservations.set(data.reservationId, {
        reservationId: data.reservationId,
        channel: data.channel,
        quantity: data.quantity,
        allocations: data.allocations,
        ttlSeconds: data.ttlSeconds,
        expiresAt: data.expiresAt,
        expiresAtMs,
        orderRef: data.orderRef,
        status: 'held',
        releaseReason: null,
      });
      state.held.add(data.reservationId);
      state.earliestHeldExpiryMs = Math.min(state.earliestHeldExpiryMs, expiresAtMs);
      return state;
    }
    case EventTypes.ReservationCommitted:
      finishReservation(state, event.data.reservationId, 'committed');
      return state;
    case EventTypes.ReservationReleased: {
      const reservation = finishReservation(state, event.data.reservationId, event.data.reason === 'expired' ? 'expired' : 'released');
      if (reservation) reservation.releaseReason = event.data.reason;
      return state;
    }
    case EventTypes.StockSold: {
      const { saleId, channel, quantity, allocations } = event.data;
      state.sales.set(saleId, { channel, quantity, allocations });
      return state;
    }
    case EventTypes.ReturnReceived: {
      const { returnId, location, quantity, orderRef, channel } = event.data;
      state.returns.set(returnId, {
        returnId,
        location,
        quantity,
        orderRef,
        channel,
        status: 'pending_inspection',
        restockQuantity: null,
        writeOffQuantity: null,
      });
      return state;
    }
    case EventTypes.ReturnInspected: {
      const record = state.returns.get(event.data.returnId);
      if (record) {
        record.status = 'inspected';
        record.restockQuantity = event.data.restockQuantity;
        record.writeOffQuantity = event.data.writeOffQuantity;
      }
      return state;
    }
  }
}

export function evolveAll(state: SkuState, events: Iterable<InventoryEvent>): SkuState {
  for (const event of events) evolve(state, event);
  return state;
}

function stockAt(state: SkuState, location: string): LocationStock {
  let stock = state.locations.get(location);
  if (!stock) {
    stock = emptyLocation();
    state.locations.set(location, stock);
  }
  return stock;
}

function finishReservation(state: SkuState, reservationId: string, status: 'committed' | 'released' | 'expired') {
  const reservation = state.reservations.get(reservationId);
  if (!reservation) return undefined;
  reservation.status = status;
  state.held.delete(reservationId);
  if (reservation.expiresAtMs <= state.earliestHeldExpiryMs) state.earliestHeldExpiryMs = earliestExpiry(state);
  return reservation;
}

function earliestExpiry(state: SkuState): number {
  let earliest = Infinity;
  for (const id of state.held) earliest = Math.min(earliest, state.reservations.get(id)?.expiresAtMs ?? Infinity);
  return earliest;
}
