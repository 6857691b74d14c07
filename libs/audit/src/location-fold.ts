import { EventTypes, sumLocations, type StockTotals } from '@ledger/domain';

/**
 * The auditor's own arithmetic for location figures: numbers only, no reservation or receipt
 * records, so a replay of millions of events keeps a few numbers per (SKU, location). It is written
 * independently of the domain's `evolve` on purpose and proven equal to it by a differential
 * property test (location-fold.spec.ts): two implementations that agree on random histories are the
 * auditor's evidence that the live figures are what the events say.
 */
export class LocationFigures {
  onHand = 0;
  reserved = 0;
  shortfall = 0;
  pendingInspection = 0;
  writtenOff = 0;
}

export type FigureField = 'onHand' | 'reserved' | 'shortfall' | 'pendingInspection' | 'writtenOff';
export const FIGURE_FIELDS: readonly FigureField[] = ['onHand', 'reserved', 'shortfall', 'pendingInspection', 'writtenOff'];

/** Returns the mutable figures of a location, creating them at zero (as the domain does). */
export type FiguresAt = (location: string) => LocationFigures;

interface AllocationLike {
  location: string;
  quantity: number;
}

/** Figures of one SKU by location, created at zero on first sight (in the domain's order too). */
export function figuresAtIn(locations: Map<string, LocationFigures>): FiguresAt {
  return (location) => {
    let figures = locations.get(location);
    if (figures === undefined) {
      figures = new LocationFigures();
      locations.set(location, figures);
    }
    return figures;
  };
}

/**
 * Applies one ledger event to the location figures. `data` is the event's data as stored. Returns
 * false for a type that does not move location figures (unknown types included), true otherwise.
 */
export function foldLocationFigures(at: FiguresAt, type: string, data: Record<string, unknown>): boolean {
  switch (type) {
    case EventTypes.StockReceived: {
      receive(at(data.location as string), data.quantity as number);
      return true;
    }
    case EventTypes.StockAdjusted: {
      const figures = at(data.location as string);
      const counted = data.countedQuantity as number;
      const held = figures.reserved + figures.shortfall;
      const backed = held < counted ? held : counted;
      figures.onHand = counted;
      figures.reserved = backed;
      figures.shortfall = held - backed;
      return true;
    }
    case EventTypes.StockReserved: {
      const allocations = data.allocations as AllocationLike[];
      for (let i = 0; i < allocations.length; i++) at(allocations[i].location).reserved += allocations[i].quantity;
      return true;
    }
    case EventTypes.ReservationCommitted: {
      const allocations = data.allocations as AllocationLike[];
      for (let i = 0; i < allocations.length; i++) {
        const figures = at(allocations[i].location);
        figures.onHand -= allocations[i].quantity;
        figures.reserved -= allocations[i].quantity;
      }
      return true;
    }
    case EventTypes.ReservationReleased: {
      const allocations = data.allocations as AllocationLike[];
      for (let i = 0; i < allocations.length; i++) {
        const figures = at(allocations[i].location);
        const quantity = allocations[i].quantity;
        // Units a count left without stock go back first; only the rest frees backed units.
        const unbacked = figures.shortfall < quantity ? figures.shortfall : quantity;
        figures.shortfall -= unbacked;
        figures.reserved -= quantity - unbacked;
      }
      return true;
    }
    case EventTypes.StockSold: {
      const allocations = data.allocations as AllocationLike[];
      for (let i = 0; i < allocations.length; i++) at(allocations[i].location).onHand -= allocations[i].quantity;
      return true;
    }
    case EventTypes.ReturnReceived: {
      at(data.location as string).pendingInspection += data.quantity as number;
      return true;
    }
    case EventTypes.ReturnInspected: {
      const figures = at(data.location as string);
      const restock = data.restockQuantity as number;
      const writeOff = data.writeOffQuantity as number;
      figures.pendingInspection -= restock + writeOff;
      figures.writtenOff += writeOff;
      receive(figures, restock);
      return true;
    }
    default:
      // StockShortageDetected names holds at risk; the adjustment before it already moved the numbers.
      return false;
  }
}

/** Sellable units arriving first back holds that a count left without stock. */
function receive(figures: LocationFigures, quantity: number): void {
  const cover = figures.shortfall < quantity ? figures.shortfall : quantity;
  figures.onHand += quantity;
  figures.reserved += cover;
  figures.shortfall -= cover;
}

export type FigureTotals = StockTotals;

export function zeroTotals(): FigureTotals {
  return sumLocations([]);
}

/** The domain's own sum: totals are arithmetic on the figures, not a second opinion on them. */
export const totalsOf = sumLocations;

export function diffTotals(after: FigureTotals, before: FigureTotals): FigureTotals {
  return {
    onHand: after.onHand - before.onHand,
    reserved: after.reserved - before.reserved,
    available: after.available - before.available,
    pendingInspection: after.pendingInspection - before.pendingInspection,
    shortfall: after.shortfall - before.shortfall,
    writtenOff: after.writtenOff - before.writtenOff,
  };
}

/** The first broken invariant of one location, or null: nothing negative, never more reserved than on hand. */
export function brokenInvariant(figures: LocationFigures): { rule: string; field: FigureField; value: number } | null {
  for (const field of FIGURE_FIELDS) {
    const value = figures[field];
    if (!Number.isSafeInteger(value)) return { rule: `${field} must be a whole number`, field, value };
    if (value < 0) return { rule: `${field} must never be negative`, field, value };
  }
  if (figures.reserved > figures.onHand) return { rule: 'reserved must never exceed onHand', field: 'reserved', value: figures.reserved };
  return null;
}
