import type { CommandContext } from '../command-context';

export interface ReserveStockInput {
  reservationId: string;
  channel: string;
  quantity: number;
  /** Absent: the configured default. */
  ttlSeconds?: number;
  orderRef?: string | null;
}

export class ReserveStockCommand {
  constructor(readonly sku: string, readonly input: ReserveStockInput, readonly context: CommandContext) {}
}
