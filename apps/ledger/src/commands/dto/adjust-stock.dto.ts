import { IsIn, IsInt, Max, Min, ValidateIf, registerDecorator, type ValidationArguments } from 'class-validator';
import { ADJUSTMENT_REASONS, type AdjustmentReason } from '@ledger/domain';
import { IsLedgerId, IsQuantity, MAX_QUANTITY } from '../validators';

/** Refuses the property when `other` is given too, so a request with both names both fields. */
function NotWith(other: string): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'notWith',
      target: target.constructor,
      propertyName: String(propertyName),
      constraints: [other],
      options: { message: `give exactly one of countedQuantity and delta, not both` },
      validator: { validate: (_value: unknown, args: ValidationArguments) => (args.object as Record<string, unknown>)[other] === undefined },
    });
}

/** Send what a count found (`countedQuantity`) or a known change (`delta`), not both. */
export class AdjustStockDto {
  @IsLedgerId() adjustmentId!: string;
  @IsLedgerId() location!: string;
  @ValidateIf((dto: AdjustStockDto) => dto.delta === undefined || dto.countedQuantity !== undefined)
  @IsQuantity(0)
  @NotWith('delta')
  countedQuantity?: number;
  @ValidateIf((dto: AdjustStockDto) => dto.countedQuantity === undefined || dto.delta !== undefined)
  @IsInt()
  @Min(-MAX_QUANTITY)
  @Max(MAX_QUANTITY)
  @NotWith('countedQuantity')
  delta?: number;
  @IsIn(ADJUSTMENT_REASONS) reason!: AdjustmentReason;
}
