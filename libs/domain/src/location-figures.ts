import { EventTypes, type Allocation, type InventoryEvent } from './events';
import type { LocationStock } from './state';

/**
 * The arithmetic every ledger event does to location figures, kept apart from the entity records
 * so read models and auditors can fold millions of events with numbers only, exactly as `evolve` does.
 * `stockAt` returns the mutable figures of a location, creating them at zero.
 */
export function applyToLocations(stockAt: (location: string) => LocationStock, event: InventoryEvent): void {
  switch (event.type) {
    case EventTypes.StockReceived:
      return addStock(stockAt(event.data.location), event.data.quantity);
    case EventTypes.StockAdjusted: {
      const stock = stockAt(event.data.location);
      const held = stock.reserved + stock.shortfall;
      stock.onHand = event.data.countedQuantity;
      stock.reserved = Math.min(held, stock.onHand);
      stock.shortfall = held - stock.reserved;
      return;
    }
    case EventTypes.StockShortageDetected:
      // The numbers already moved with the adjustment; this event names who is at risk.
      return;
    case EventTypes.StockReserved:
      for (const { location, quantity } of event.data.allocations) stockAt(location).reserved += quantity;
      return;
    case EventTypes.ReservationCommitted:
      for (const { location, quantity } of event.data.allocations) {
        const stock = stockAt(location);
        stock.onHand -= quantity;
        stock.reserved -= quantity;
      }
      return;
    case EventTypes.ReservationReleased:
      return releaseAllocations(stockAt, event.data.allocations);
    case EventTypes.StockSold:
      for (const { location, quantity } of event.data.allocations) stockAt(location).onHand -= quantity;
      return;
    case EventTypes.ReturnReceived:
      stockAt(event.data.location).pendingInspection += event.data.quantity;
      return;
    case EventTypes.ReturnInspected: {
      const { location, restockQuantity, writeOffQuantity } = event.data;
      const stock = stockAt(location);
      stock.pendingInspection -= restockQuantity + writeOffQuantity;
      stock.writtenOff += writeOffQuantity;
      return addStock(stock, restockQuantity);
    }
  }
}

/** The locations an event changes, so a read model recomputes only the channels that draw on them. */
export function locationsTouched(event: InventoryEvent): string[] {
  const data = event.data as { location?: string; allocations?: Allocation[] };
  if (data.allocations) return data.allocations.map((allocation) => allocation.location);
  return data.location ? [data.location] : [];
}

/** New sellable units first back any holds that a count left without stock. */
function addStock(stock: LocationStock, quantity: number): void {
  const cover = Math.min(stock.shortfall, quantity);
  stock.onHand += quantity;
  stock.reserved += cover;
  stock.shortfall -= cover;
}

/** A released hold gives back its unbacked units first, then its backed ones. */
function releaseAllocations(stockAt: (location: string) => LocationStock, allocations: Allocation[]): void {
  for (const { location, quantity } of allocations) {
    const stock = stockAt(location);
    const fromShortfall = Math.min(stock.shortfall, quantity);
    stock.shortfall -= fromShortfall;
    stock.reserved -= quantity - fromShortfall;
  }
}
