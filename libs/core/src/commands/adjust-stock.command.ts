import type { AdjustmentReason } from '@ledger/domain';
import type { CommandContext } from '../command-context';

export interface AdjustStockInput {
  adjustmentId: string;
  location: string;
  countedQuantity?: number;
  delta?: number;
  reason: AdjustmentReason;
}

export class AdjustStockCommand {
  constructor(readonly sku: string, readonly input: AdjustStockInput, readonly context: CommandContext) {}
}
