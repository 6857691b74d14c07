import { IsOptional } from 'class-validator';
import { IsLedgerId, IsQuantity, IsReference } from '../validators';

/** Units back from a customer or the carrier (RTO): held for inspection, not sellable yet. */
export class ReceiveReturnDto {
  @IsLedgerId() returnId!: string;
  @IsLedgerId() location!: string;
  @IsQuantity() quantity!: number;
  @IsOptional() @IsReference() orderRef?: string;
  @IsOptional() @IsLedgerId() channel?: string;
}
