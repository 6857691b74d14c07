import { IsLedgerId, IsQuantity } from '../validators';

/** A sale with no hold before it (e.g. a B2B order booked at once). */
export class SellStockDto {
  @IsLedgerId() saleId!: string;
  @IsLedgerId() channel!: string;
  @IsQuantity() quantity!: number;
}
