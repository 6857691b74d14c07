import type * as C from '../commands';
import { EventTypes, type AdjustmentReason, type Allocation, type InventoryEvent, type ReleaseReason } from '../events';

/** Builders for specs: short to read, with the defaults most specs do not care about. */

/** A fixed start of time; specs move forward from it in seconds. */
export const T0 = Date.parse('2026-01-01T00:00:00.000Z');
export const at = (seconds: number): number => T0 + seconds * 1000;
export const iso = (ms: number): string => new Date(ms).toISOString();

export const alloc = (location: string, quantity: number): Allocation => ({ location, quantity });

interface ChannelOptions {
  channel?: string;
  locations?: readonly string[] | null;
  now?: number;
}

export const cmd = {
  receive: (receiptId: string, location: string, quantity: number, extra: Partial<C.ReceiveStock> = {}): C.ReceiveStock => ({
    type: 'ReceiveStock', receiptId, location, quantity, now: T0, ...extra,
  }),
  count: (adjustmentId: string, location: string, countedQuantity: number, extra: Partial<C.AdjustStock> = {}): C.AdjustStock => ({
    type: 'AdjustStock', adjustmentId, location, countedQuantity, reason: 'cycle_count', now: T0, ...extra,
  }),
  adjustBy: (adjustmentId: string, location: string, delta: number, extra: Partial<C.AdjustStock> = {}): C.AdjustStock => ({
    type: 'AdjustStock', adjustmentId, location, delta, reason: 'correction', now: T0, ...extra,
  }),
  reserve: (
    reservationId: string,
    quantity: number,
    { channel = 'web', locations = null, now = T0, ...extra }: ChannelOptions & Partial<C.ReserveStock> = {},
  ): C.ReserveStock => ({
    type: 'ReserveStock', reservationId, channel, channelLocations: locations, quantity, ttlSeconds: 60, now, ...extra,
  }),
  commit: (reservationId: string, now = T0): C.CommitReservation => ({ type: 'CommitReservation', reservationId, now }),
  release: (reservationId: string, reason: ReleaseReason = 'cancelled', now = T0): C.ReleaseReservation => ({
    type: 'ReleaseReservation', reservationId, reason, now,
  }),
  expire: (now = T0): C.ExpireReservations => ({ type: 'ExpireReservations', now }),
  sell: (saleId: string, quantity: number, { channel = 'web', locations = null, now = T0 }: ChannelOptions = {}): C.SellStock => ({
    type: 'SellStock', saleId, channel, channelLocations: locations, quantity, now,
  }),
  receiveReturn: (returnId: string, location: string, quantity: number, extra: Partial<C.ReceiveReturn> = {}): C.ReceiveReturn => ({
    type: 'ReceiveReturn', returnId, location, quantity, now: T0, ...extra,
  }),
  inspect: (returnId: string, restockQuantity: number, writeOffQuantity: number, now = T0): C.InspectReturn => ({
    type: 'InspectReturn', returnId, restockQuantity, writeOffQuantity, now,
  }),
};

export const ev = {
  received: (receiptId: string, location: string, quantity: number, reference: string | null = null): InventoryEvent => ({
    type: EventTypes.StockReceived, data: { receiptId, location, quantity, reference },
  }),
  adjusted: (
    adjustmentId: string,
    location: string,
    { mode, delta, countedQuantity, reason }: { mode: 'count' | 'delta'; delta: number; countedQuantity: number; reason?: AdjustmentReason },
  ): InventoryEvent => ({
    type: EventTypes.StockAdjusted,
    data: { adjustmentId, location, mode, delta, countedQuantity, reason: reason ?? (mode === 'count' ? 'cycle_count' : 'correction') },
  }),
  shortage: (adjustmentId: string, location: string, shortfall: number, reservationsAtRisk: string[]): InventoryEvent => ({
    type: EventTypes.StockShortageDetected, data: { adjustmentId, location, shortfall, reservationsAtRisk },
  }),
  reserved: (
    reservationId: string,
    allocations: Allocation[],
    { channel = 'web', ttlSeconds = 60, now = T0, orderRef = null }: { channel?: string; ttlSeconds?: number; now?: number; orderRef?: string | null } = {},
  ): InventoryEvent => ({
    type: EventTypes.StockReserved,
    data: {
      reservationId,
      channel,
      quantity: allocations.reduce((sum, allocation) => sum + allocation.quantity, 0),
      allocations,
      ttlSeconds,
      expiresAt: iso(now + ttlSeconds * 1000),
      orderRef,
    },
  }),
  committed: (reservationId: string, allocations: Allocation[], channel = 'web'): InventoryEvent => ({
    type: EventTypes.ReservationCommitted,
    data: { reservationId, channel, quantity: allocations.reduce((sum, a) => sum + a.quantity, 0), allocations },
  }),
  released: (reservationId: string, allocations: Allocation[], reason: ReleaseReason = 'cancelled', channel = 'web'): InventoryEvent => ({
    type: EventTypes.ReservationReleased,
    data: { reservationId, channel, quantity: allocations.reduce((sum, a) => sum + a.quantity, 0), allocations, reason },
  }),
  sold: (saleId: string, allocations: Allocation[], channel = 'web'): InventoryEvent => ({
    type: EventTypes.StockSold,
    data: { saleId, channel, quantity: allocations.reduce((sum, a) => sum + a.quantity, 0), allocations },
  }),
  returned: (returnId: string, location: string, quantity: number, { orderRef = null, channel = null }: { orderRef?: string | null; channel?: string | null } = {}): InventoryEvent => ({
    type: EventTypes.ReturnReceived, data: { returnId, location, quantity, orderRef, channel },
  }),
  inspected: (returnId: string, location: string, restockQuantity: number, writeOffQuantity: number): InventoryEvent => ({
    type: EventTypes.ReturnInspected, data: { returnId, location, restockQuantity, writeOffQuantity },
  }),
};
