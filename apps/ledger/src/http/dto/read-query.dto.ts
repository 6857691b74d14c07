import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { IsLedgerId } from '../../commands/validators';

/** Shared by reads that may wait for the caller's own write (read-your-writes). */
export class ConsistentReadDto {
  /** A position from a write's answer: wait (briefly) until the read model has applied it. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) minPosition?: number;
}

export class PageQueryDto extends ConsistentReadDto {
  @IsOptional() @IsString() @MaxLength(1000) cursor?: string;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000) limit?: number;
}

export class ReservationsQueryDto extends PageQueryDto {
  @IsOptional() @IsLedgerId() sku?: string;
  @IsOptional() @IsLedgerId() channel?: string;
  @IsOptional() @IsIn(['held', 'committed', 'released', 'expired']) status?: 'held' | 'committed' | 'released' | 'expired';
}

export class ReturnsQueryDto extends PageQueryDto {
  @IsOptional() @IsLedgerId() sku?: string;
  @IsOptional() @IsIn(['pending_inspection', 'inspected']) status?: 'pending_inspection' | 'inspected';
}

export class LocationStockQueryDto extends PageQueryDto {
  /** Only SKUs with at most this many available: the low-stock view. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) maxAvailable?: number;
}

export class AvailabilityStreamQueryDto {
  @IsOptional() @IsLedgerId() channel?: string;
  @IsOptional() @IsLedgerId() sku?: string;
  /** Resume after this ledger position (the same as the Last-Event-ID header). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) after?: number;
}
