import type { AdjustmentReason, Allocation, ReleaseReason } from './events';
import type { ReturnStatus } from './state';

/** What each command answers. A repeated command answers what its first run answered. */
export interface ReceiptResult {
  receiptId: string;
  location: string;
  quantity: number;
}

export interface AdjustmentResult {
  adjustmentId: string;
  location: string;
  delta: number;
  countedQuantity: number;
  reason: AdjustmentReason;
  shortfall: number;
}

export interface ReservationResult {
  reservationId: string;
  status: 'held';
  channel: string;
  quantity: number;
  allocations: Allocation[];
  expiresAt: string;
}

export interface CommitResult {
  reservationId: string;
  status: 'committed';
}

export interface ReleaseResult {
  reservationId: string;
  status: 'released';
  reason: ReleaseReason;
}

export interface ExpiryResult {
  expired: string[];
}

export interface SaleResult {
  saleId: string;
  channel: string;
  quantity: number;
  allocations: Allocation[];
}

export interface ReturnResult {
  returnId: string;
  status: ReturnStatus;
  location: string;
  quantity: number;
}

export interface InspectionResult {
  returnId: string;
  status: 'inspected';
  restockQuantity: number;
  writeOffQuantity: number;
}

export type CommandResult =
  | ReceiptResult
  | AdjustmentResult
  | ReservationResult
  | CommitResult
  | ReleaseResult
  | ExpiryResult
  | SaleResult
  | ReturnResult
  | InspectionResult;
