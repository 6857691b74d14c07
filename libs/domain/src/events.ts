/**
 * Ledger events. The `type` strings are the stored contract: they never change once written, and a
 * new shape gets a new version suffix rather than a new meaning for an old string.
 */
export const EVENT_TYPE_PREFIX = 'inventory.';

export const EventTypes = {
  StockReceived: 'inventory.stock-received.v1',
  StockAdjusted: 'inventory.stock-adjusted.v1',
  StockShortageDetected: 'inventory.stock-shortage-detected.v1',
  StockReserved: 'inventory.stock-reserved.v1',
  ReservationCommitted: 'inventory.reservation-committed.v1',
  ReservationReleased: 'inventory.reservation-released.v1',
  StockSold: 'inventory.stock-sold.v1',
  ReturnReceived: 'inventory.return-received.v1',
  ReturnInspected: 'inventory.return-inspected.v1',
  ChannelConfigured: 'inventory.channel-configured.v1',
} as const;

export interface Allocation {
  location: string;
  quantity: number;
}

export type AdjustmentReason = 'cycle_count' | 'damage' | 'shrinkage' | 'correction';
export const ADJUSTMENT_REASONS: readonly AdjustmentReason[] = ['cycle_count', 'damage', 'shrinkage', 'correction'];

export type ReleaseReason = 'cancelled' | 'expired';

export interface StockReceived {
  type: typeof EventTypes.StockReceived;
  data: { receiptId: string; location: string; quantity: number; reference: string | null };
}

export interface StockAdjusted {
  type: typeof EventTypes.StockAdjusted;
  data: {
    adjustmentId: string;
    location: string;
    /** Whether the operator reported a count or a delta: part of the request, for idempotency. */
    mode: 'count' | 'delta';
    delta: number;
    countedQuantity: number;
    reason: AdjustmentReason;
  };
}

export interface StockShortageDetected {
  type: typeof EventTypes.StockShortageDetected;
  data: {
    adjustmentId: string;
    location: string;
    /** Units held by reservations at this location that no longer have stock behind them. */
    shortfall: number;
    reservationsAtRisk: string[];
  };
}

export interface StockReserved {
  type: typeof EventTypes.StockReserved;
  data: {
    reservationId: string;
    channel: string;
    quantity: number;
    allocations: Allocation[];
    ttlSeconds: number;
    expiresAt: string;
    orderRef: string | null;
  };
}

export interface ReservationCommitted {
  type: typeof EventTypes.ReservationCommitted;
  data: { reservationId: string; channel: string; quantity: number; allocations: Allocation[] };
}

export interface ReservationReleased {
  type: typeof EventTypes.ReservationReleased;
  data: {
    reservationId: string;
    channel: string;
    quantity: number;
    allocations: Allocation[];
    reason: ReleaseReason;
  };
}

export interface StockSold {
  type: typeof EventTypes.StockSold;
  data: { saleId: string; channel: string; quantity: number; allocations: Allocation[] };
}

export interface ReturnReceived {
  type: typeof EventTypes.ReturnReceived;
  data: { returnId: string; location: string; quantity: number; orderRef: string | null; channel: string | null };
}

export interface ReturnInspected {
  type: typeof EventTypes.ReturnInspected;
  data: { returnId: string; location: string; restockQuantity: number; writeOffQuantity: number };
}

export type InventoryEvent =
  | StockReceived
  | StockAdjusted
  | StockShortageDetected
  | StockReserved
  | ReservationCommitted
  | ReservationReleased
  | StockSold
  | ReturnReceived
  | ReturnInspected;

/** Channel configuration is ledger history too, kept in its own stream. */
export interface ChannelConfigured {
  type: typeof EventTypes.ChannelConfigured;
  /** `locations: null` means every location, in the order the SKU first saw them. */
  data: { channel: string; locations: string[] | null };
}

export type ChannelEvent = ChannelConfigured;

const INVENTORY_EVENT_TYPES = new Set<string>(
  Object.values(EventTypes).filter((type) => type !== EventTypes.ChannelConfigured),
);

export function isInventoryEvent(event: { type: string }): event is InventoryEvent {
  return INVENTORY_EVENT_TYPES.has(event.type);
}

export function isChannelEvent(event: { type: string }): event is ChannelEvent {
  return event.type === EventTypes.ChannelConfigured;
}
