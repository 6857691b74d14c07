import type { AdjustmentReason, ReleaseReason } from './events';

/**
 * Commands on one SKU. Each carries the id that makes it idempotent and `now` (epoch ms): the domain
 * never reads a clock, so tests and replays decide exactly as the live system did.
 */
interface SkuCommandBase {
  now: number;
}

export interface ReceiveStock extends SkuCommandBase {
  type: 'ReceiveStock';
  receiptId: string;
  location: string;
  quantity: number;
  reference?: string | null;
}

/** Exactly one of `countedQuantity` (what a count found) and `delta` (a known change) is set. */
export interface AdjustStock extends SkuCommandBase {
  type: 'AdjustStock';
  adjustmentId: string;
  location: string;
  countedQuantity?: number;
  delta?: number;
  reason: AdjustmentReason;
}

/** `channelLocations` is the channel's ordered location list, or null for every location. */
export interface ReserveStock extends SkuCommandBase {
  type: 'ReserveStock';
  reservationId: string;
  channel: string;
  channelLocations: readonly string[] | null;
  quantity: number;
  ttlSeconds: number;
  orderRef?: string | null;
}

export interface CommitReservation extends SkuCommandBase {
  type: 'CommitReservation';
  reservationId: string;
}

export interface ReleaseReservation extends SkuCommandBase {
  type: 'ReleaseReservation';
  reservationId: string;
  reason: ReleaseReason;
}

/** The sweeper's command: release every hold of this SKU whose time is up. */
export interface ExpireReservations extends SkuCommandBase {
  type: 'ExpireReservations';
}

export interface SellStock extends SkuCommandBase {
  type: 'SellStock';
  saleId: string;
  channel: string;
  channelLocations: readonly string[] | null;
  quantity: number;
}

export interface ReceiveReturn extends SkuCommandBase {
  type: 'ReceiveReturn';
  returnId: string;
  location: string;
  quantity: number;
  orderRef?: string | null;
  channel?: string | null;
}

export interface InspectReturn extends SkuCommandBase {
  type: 'InspectReturn';
  returnId: string;
  restockQuantity: number;
  writeOffQuantity: number;
}

export type SkuCommand =
  | ReceiveStock
  | AdjustStock
  | ReserveStock
  | CommitReservation
  | ReleaseReservation
  | ExpireReservations
  | SellStock
  | ReceiveReturn
  | InspectReturn;

export type SkuCommandType = SkuCommand['type'];
