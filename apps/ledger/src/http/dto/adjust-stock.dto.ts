import { IsIn, IsInt, Max, Min, ValidateIf } from 'class-validator';
import { ADJUSTMENT_REASONS, type AdjustmentReason } from '@ledger/domain';
import { IsLedgerId, IsQuantity, MAX_QUANTITY } from './validators';

/** Send what a count found (`countedQuantity`) or a known change (`delta`), not both. */
export class AdjustStockDto {
  @IsLedgerId() adjustmentId!: string;
  @IsLedgerId() location!: string;
  @ValidateIf((dto: AdjustStockDto) => dto.delta === undefined || dto.countedQuantity !== undefined)
  @IsQuantity(0)
  countedQuantity?: number;
  @ValidateIf((dto: AdjustStockDto) => dto.countedQuantity === undefined || dto.delta !== undefined)
  @IsInt()
  @Min(-MAX_QUANTITY)
  @Max(MAX_QUANTITY)
  delta?: number;
  @IsIn(ADJUSTMENT_REASONS) reason!: AdjustmentReason;
}
