import { IsIn, IsOptional } from 'class-validator';
import type { ReleaseReason } from '@ledger/domain';

export class ReleaseReservationDto {
  @IsOptional() @IsIn(['cancelled', 'expired']) reason?: ReleaseReason;
}
