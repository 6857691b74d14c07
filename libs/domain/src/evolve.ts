import { EventTypes, type Allocation, type InventoryEvent } from './events';
import { emptyLocation, type LocationStock, type SkuState } from './state';

/**
 * Folds one event into the state. It moves the given state forward in place and returns it: a SKU
 * with 20,000 holds cannot afford a copy per event on the hot path. Callers that must keep an older
 * state take `cloneState` first.
 */
export function evolve(state: SkuState, event: InventoryEvent): SkuState {
  switch (event.type) {
    case EventTypes.StockReceived: {
      const { receiptId, location, quantity, reference } = event.data;
      addStock(stockAt(state, location), quantity);
      state.receipts.set(receiptId, { location, quantity, reference });
      return state;
    }
    case EventTypes.StockAdjusted: {
      const { adjustmentId, location, mode, delta, countedQuantity, reason } = event.data;
      const stock = stockAt(state, location);
      const held = stock.reserved + stock.shortfall;
      stock.onHand = countedQuantity;
      stock.reserved = Math.min(held, countedQuantity);
      stock.shortfall = held - stock.reserved;
      state.adjustments.set(adjustmentId, { location, mode, delta, countedQuantity, reason, shortfall: stock.shortfall });
      return state;
    }
    case EventTypes.StockShortageDetected:
      // The numbers already moved with the adjustment; this event names who is at risk.
      return state;
    case EventTypes.StockReserved: {
      const data = event.data;
      for (const { location, quantity } of data.allocations) stockAt(state, location).reserved += quantity;
      state.reservations.set(data.reservationId, {
        reservationId: data.reservationId,
        channel: data.channel,
        quantity: data.quantity,
        allocations: data.allocations,
        ttlSeconds: data.ttlSeconds,
        expiresAt: data.expiresAt,
        expiresAtMs: Date.parse(data.expiresAt),
        orderRef: data.orderRef,
        status: 'held',
        releaseReason: null,
      });
      state.held.add(data.reservationId);
      state.earliestHeldExpiryMs = Math.min(state.earliestHeldExpiryMs, Date.parse(data.expiresAt));
      return state;
    }
    case EventTypes.ReservationCommitted: {
      for (const { location, quantity } of event.data.allocations) {
        const stock = stockAt(state, location);
        stock.onHand -= quantity;
        stock.reserved -= quantity;
      }
      finishReservation(state, event.data.reservationId, 'committed');
      return state;
    }
    case EventTypes.ReservationReleased: {
      releaseAllocations(state, event.data.allocations);
      const reservation = finishReservation(state, event.data.reservationId, event.data.reason === 'expired' ? 'expired' : 'released');
      if (reservation) reservation.releaseReason = event.data.reason;
      return state;
    }
    case EventTypes.StockSold: {
      const { saleId, channel, quantity, allocations } = event.data;
      for (const allocation of allocations) stockAt(state, allocation.location).onHand -= allocation.quantity;
      state.sales.set(saleId, { channel, quantity, allocations });
      return state;
    }
    case EventTypes.ReturnReceived: {
      const { returnId, location, quantity, orderRef, channel } = event.data;
      stockAt(state, location).pendingInspection += quantity;
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
      const { returnId, location, restockQuantity, writeOffQuantity } = event.data;
      const stock = stockAt(state, location);
      stock.pendingInspection -= restockQuantity + writeOffQuantity;
      stock.writtenOff += writeOffQuantity;
      addStock(stock, restockQuantity);
      const record = state.returns.get(returnId);
      if (record) {
        record.status = 'inspected';
        record.restockQuantity = restockQuantity;
        record.writeOffQuantity = writeOffQuantity;
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

/** New sellable units first back any holds that a count left without stock. */
function addStock(stock: LocationStock, quantity: number): void {
  const cover = Math.min(stock.shortfall, quantity);
  stock.onHand += quantity;
  stock.reserved += cover;
  stock.shortfall -= cover;
}

/** A released hold gives back its unbacked units first, then its backed ones. */
function releaseAllocations(state: SkuState, allocations: Allocation[]): void {
  for (const { location, quantity } of allocations) {
    const stock = stockAt(state, location);
    const fromShortfall = Math.min(stock.shortfall, quantity);
    stock.shortfall -= fromShortfall;
    stock.reserved -= quantity - fromShortfall;
  }
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
