import { IsOptional } from 'class-validator';
import { IsLedgerId, IsQuantity, IsReference } from '../validators';

export class ReceiveStockDto {
  /** Your id for this receipt; sending it again changes nothing. */
  @IsLedgerId() receiptId!: string;
  @IsLedgerId() location!: string;
  @IsQuantity() quantity!: number;
  /** A purchase order or ASN number. */
  @IsOptional() @IsReference() reference?: string;
}
