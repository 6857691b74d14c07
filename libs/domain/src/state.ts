import type { AdjustmentReason, Allocation, ReleaseReason } from './events';

/**
 * Stock at one location. `reserved` never exceeds `onHand`; units held by reservations beyond what a
 * count found are `shortfall`, so available (onHand - reserved) can never go below zero.
 */
export interface LocationStock {
  onHand: number;
  reserved: number;
  shortfall: number;
  pendingInspection: number;
  writtenOff: number;
}

export type ReservationStatus = 'held' | 'committed' | 'released' | 'expired';

export interface Reservation {
  reservationId: string;
  channel: string;
  quantity: number;
  allocations: Allocation[];
  ttlSeconds: number;
  expiresAt: string;
  expiresAtMs: number;
  orderRef: string | null;
  status: ReservationStatus;
  releaseReason: ReleaseReason | null;
}

export interface Receipt {
  location: string;
  quantity: number;
  reference: string | null;
}

export interface Adjustment {
  location: string;
  mode: 'count' | 'delta';
  delta: number;
  countedQuantity: number;
  reason: AdjustmentReason;
  /** Held units left without stock right after this adjustment: a repeat answers what the first run did. */
  shortfall: number;
}

export interface Sale {
  channel: string;
  quantity: number;
  allocations: Allocation[];
}

export type ReturnStatus = 'pending_inspection' | 'inspected';

export interface ReturnRecord {
  returnId: string;
  location: string;
  quantity: number;
  orderRef: string | null;
  channel: string | null;
  status: ReturnStatus;
  restockQuantity: number | null;
  writeOffQuantity: number | null;
}

/**
 * Everything one SKU stream says. The id maps double as the idempotency record: a command whose id is
 * already here is a repeat.
 */
export interface SkuState {
  locations: Map<string, LocationStock>;
  reservations: Map<string, Reservation>;
  /** Ids of reservations still held, so expiry and shortage checks never scan finished ones. */
  held: Set<string>;
  /** The earliest expiry among held reservations (Infinity when none): expiry checks cost nothing until then. */
  earliestHeldExpiryMs: number;
  receipts: Map<string, Receipt>;
  adjustments: Map<string, Adjustment>;
  sales: Map<string, Sale>;
  returns: Map<string, ReturnRecord>;
}

export function initialState(): SkuState {
  return {
    locations: new Map(),
    reservations: new Map(),
    held: new Set(),
    earliestHeldExpiryMs: Infinity,
    receipts: new Map(),
    adjustments: new Map(),
    sales: new Map(),
    returns: new Map(),
  };
}

export function emptyLocation(): LocationStock {
  return { onHand: 0, reserved: 0, shortfall: 0, pendingInspection: 0, writtenOff: 0 };
}

export function locationAvailable(stock: LocationStock | undefined): number {
  return stock ? stock.onHand - stock.reserved : 0;
}

/** The locations a channel draws from, in order: its own list, or every location the SKU has. */
export function channelLocations(state: SkuState, locations: readonly string[] | null): readonly string[] {
  return locations ?? [...state.locations.keys()];
}

/** Available for a channel = sum over its locations of (on hand - reserved). */
export function channelAvailable(state: SkuState, locations: readonly string[] | null): number {
  let total = 0;
  // A location listed twice is still one stock: count it once, as `allocate` takes from it once.
  for (const location of new Set(channelLocations(state, locations))) total += locationAvailable(state.locations.get(location));
  return total;
}

export interface StockTotals {
  onHand: number;
  reserved: number;
  available: number;
  pendingInspection: number;
  shortfall: number;
  writtenOff: number;
}

export function stockTotals(state: SkuState): StockTotals {
  return sumLocations(state.locations.values());
}

/** Totals over any location figures (a live state's, a read model's, an auditor's fold). */
export function sumLocations(locations: Iterable<LocationStock>): StockTotals {
  const totals: StockTotals = { onHand: 0, reserved: 0, available: 0, pendingInspection: 0, shortfall: 0, writtenOff: 0 };
  for (const stock of locations) {
    totals.onHand += stock.onHand;
    totals.reserved += stock.reserved;
    totals.available += stock.onHand - stock.reserved;
    totals.pendingInspection += stock.pendingInspection;
    totals.shortfall += stock.shortfall;
    totals.writtenOff += stock.writtenOff;
  }
  return totals;
}

/** A deep copy, for callers that must keep a state while `evolve` moves another one forward. */
export function cloneState(state: SkuState): SkuState {
  const copyMap = <T extends object>(map: Map<string, T>) =>
    new Map([...map].map(([key, value]) => [key, structuredClone(value)] as [string, T]));
  return {
    locations: copyMap(state.locations),
    reservations: copyMap(state.reservations),
    held: new Set(state.held),
    earliestHeldExpiryMs: state.earliestHeldExpiryMs,
    receipts: copyMap(state.receipts),
    adjustments: copyMap(state.adjustments),
    sales: copyMap(state.sales),
    returns: copyMap(state.returns),
  };
}
