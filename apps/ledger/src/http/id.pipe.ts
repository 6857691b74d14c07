import { Injectable, type PipeTransform } from '@nestjs/common';
import { validationFailed } from '../errors/api-error';
import { CHANNEL_PATTERN, ID_MAX_LENGTH, ID_PATTERN } from '../commands/validators';

/** Path ids (SKU, reservation, return, channel, location) obey the same rule as ids in bodies. */
@Injectable()
export class IdPipe implements PipeTransform<string, string> {
  constructor(
    private readonly field: string,
    private readonly pattern = ID_PATTERN,
  ) {}

  transform(value: string): string {
    if (typeof value !== 'string' || value.length === 0 || value.length > ID_MAX_LENGTH || !this.pattern.test(value)) {
      const allowed = this.pattern === ID_PATTERN ? '. _ : @ ~ -' : '. _ @ ~ -';
      throw validationFailed([{ field: this.field, problems: [`${this.field} must be 1-${ID_MAX_LENGTH} letters, digits or ${allowed}`] }]);
    }
    return value;
  }
}

export const SkuParam = new IdPipe('sku');
export const ReservationIdParam = new IdPipe('reservationId');
export const ReturnIdParam = new IdPipe('returnId');
/** Channel names make Kafka keys `<channel>:<sku>`, so a channel may not hold a colon. */
export const ChannelParam = new IdPipe('channel', CHANNEL_PATTERN);
export const LocationParam = new IdPipe('location');
