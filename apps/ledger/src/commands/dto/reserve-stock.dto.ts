import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { IsLedgerId, IsQuantity, IsReference } from '../validators';

export const MAX_TTL_SECONDS = 7 * 24 * 3600;

export class ReserveStockDto {
  /** Your id for this hold (e.g. cart or order line); sending it again returns the first answer. */
  @IsLedgerId() reservationId!: string;
  @IsLedgerId() channel!: string;
  @IsQuantity() quantity!: number;
  /** How long the hold lasts; the service default when absent. */
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TTL_SECONDS) ttlSeconds?: number;
  @IsOptional() @IsReference() orderRef?: string;
}
