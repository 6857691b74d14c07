import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsInt, IsOptional, Max, Min, ValidateBy, type ValidationArguments } from 'class-validator';
import { parseMoment } from '@ledger/audit';
import { EventTypes } from '@ledger/domain';
import { IsLedgerId } from '../../commands/validators';

/** An ISO 8601 date (midnight UTC) or date-time with a zone; impossible dates and zone-less times are refused. */
export function IsMoment(): PropertyDecorator {
  return ValidateBy({
    name: 'isMoment',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && parseMoment(value) !== null,
      defaultMessage: (args?: ValidationArguments) =>
        `${args?.property ?? 'value'} must be an ISO 8601 date or time with a zone, e.g. 2026-01-31 or 2026-01-31T23:59:59Z`,
    },
  });
}

const ALL_TYPES = Object.values(EventTypes) as string[];
/** `stock-received` stands for `inventory.stock-received.v1`. */
const SHORT_TYPES = ALL_TYPES.map((type) => type.replace(/^inventory\./, '').replace(/\.v\d+$/, ''));
export const EVENT_TYPE_NAMES = [...ALL_TYPES, ...SHORT_TYPES];

export function fullEventType(name: string): string {
  const index = SHORT_TYPES.indexOf(name);
  return index >= 0 ? ALL_TYPES[index] : name;
}

const commaList = ({ value }: { value: unknown }) => {
  const parts = Array.isArray(value) ? value : [value];
  return parts.flatMap((part) => (typeof part === 'string' ? part.split(',') : [part])).map((part) => (typeof part === 'string' ? part.trim() : part)).filter((part) => part !== '');
};

export class AuditBalanceQueryDto {
  /** As of this moment (events that happened at or before it). */
  @IsOptional() @IsMoment() at?: string;
  /** As of this revision of the SKU stream (inclusive). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) revision?: number;
}

export class AuditLedgerQueryDto {
  /** Events that happened at or after this moment. */
  @IsOptional() @IsMoment() from?: string;
  /** Events that happened at or before this moment. */
  @IsOptional() @IsMoment() to?: string;
  /** Comma-separated event types, full (inventory.stock-received.v1) or short (stock-received). */
  @IsOptional() @Transform(commaList) @IsArray() @ArrayMaxSize(EVENT_TYPE_NAMES.length) @IsIn(EVENT_TYPE_NAMES, { each: true, message: `types must be among: ${SHORT_TYPES.join(', ')} (or their full type strings)` })
  types?: string[];
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) fromRevision?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000) limit?: number;
}

export class AuditMovementsQueryDto {
  /** Opening balance as of this moment; movements are the events after it. */
  @IsMoment() from!: string;
  /** Closing balance as of this moment; movements include the events at it. */
  @IsMoment() to!: string;
}

export class AuditStockQueryDto {
  /** As of this moment; now when absent. */
  @IsOptional() @IsMoment() at?: string;
  @IsOptional() @IsLedgerId() location?: string;
  /** csv (default) or json (JSON lines, one row per line). */
  @IsOptional() @IsIn(['csv', 'json']) format?: 'csv' | 'json';
}

export class AuditVerifyQueryDto {
  /** One SKU's stream; every ledger stream when absent. */
  @IsOptional() @IsLedgerId() sku?: string;
}
