import { applyDecorators } from '@nestjs/common';
import { IsInt, IsString, Length, Matches, Max, Min, type ValidationOptions } from 'class-validator';

/** Ids travel in URLs, Kafka keys and stream names: a conservative alphabet, at most 200 characters. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@~-]*$/;
export const CHANNEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@~-]*$/;
export const ID_MAX_LENGTH = 200;
export const MAX_QUANTITY = 1_000_000_000;

export function IsLedgerId(options: ValidationOptions = {}): PropertyDecorator {
  return applyDecorators(
    IsString(options),
    Length(1, ID_MAX_LENGTH, options),
    Matches(ID_PATTERN, { ...options, message: '$property may hold letters, digits and . _ : @ ~ - and must start with a letter or digit' }),
  );
}

/** Free text a person wrote (a PO number, an order reference): printable, bounded. */
export function IsReference(): PropertyDecorator {
  return applyDecorators(IsString(), Length(1, ID_MAX_LENGTH), Matches(/^[^\p{Cc}]*$/u, { message: '$property must not contain control characters' }));
}

export function IsQuantity(min = 1): PropertyDecorator {
  return applyDecorators(IsInt(), Min(min), Max(MAX_QUANTITY));
}
