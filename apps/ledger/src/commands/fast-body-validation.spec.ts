import { ValidationPipe, type ArgumentMetadata, type Type } from '@nestjs/common';
import fc from 'fast-check';
import {
  AdjustStockDto,
  ConfigureChannelDto,
  InspectReturnDto,
  ReceiveReturnDto,
  ReceiveStockDto,
  ReleaseReservationDto,
  ReserveStockDto,
  SellStockDto,
} from './dto';
import { createValidationPipe } from './validation-pipe';
import { fastBodyValidator } from './fast-body-validation';

/** A valid body per command DTO, and the fields a caller could get wrong. */
const BODIES: [Type<unknown>, Record<string, unknown>][] = [
  [ReserveStockDto, { reservationId: 'res-1', channel: 'web', quantity: 1, ttlSeconds: 60, orderRef: 'order 7/A' }],
  [ReceiveStockDto, { receiptId: 'rc-1', location: 'wh-1', quantity: 5, reference: 'PO-7' }],
  [SellStockDto, { saleId: 'sale-1', channel: 'web', quantity: 1 }],
  [ReleaseReservationDto, { reason: 'cancelled' }],
  [ReceiveReturnDto, { returnId: 'ret-1', location: 'wh-1', quantity: 1, orderRef: 'order-7', channel: 'web' }],
  [InspectReturnDto, { restockQuantity: 1, writeOffQuantity: 0 }],
  [ConfigureChannelDto, { locations: ['wh-1', 'wh-2'] }],
  [AdjustStockDto, { adjustmentId: 'adj-1', location: 'wh-1', delta: -1, reason: 'damage' }],
];

const pipe = createValidationPipe();
/** Nest's ValidationPipe with the app's options, without the fast path in front of it. */
async function fullPipe(metatype: Type<unknown>, value: unknown): Promise<{ accepted: true; entity: unknown } | { accepted: false }> {
  const metadata: ArgumentMetadata = { type: 'body', metatype, data: undefined };
  try {
    return { accepted: true, entity: await ValidationPipe.prototype.transform.call(pipe, structuredClone(value), metadata) };
  } catch {
    return { accepted: false };
  }
}

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(0, -1, 1, 1.5, 1e9, 1e9 + 1, 2 ** 53, -0, '', ' ', 'a b', '-a', 'x'.repeat(200), 'x'.repeat(201), 'réf', 'box📦', 'PO\u00007', 'cancelled', 'expired', 'damage', 'cycle_count', null, true, [], ['wh-1'], ['wh-1', 'wh-1'], [1], { a: 1 }),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.integer()), { maxLength: 4 }),
);

describe('fast body validation', () => {
  it.each(BODIES.map(([dto, body]) => [dto.name, dto, body] as const))('%s: a valid body is taken on the fast path, as the same instance the full pipe builds', async (_name, dto, body) => {
    const fast = fastBodyValidator(dto)?.(structuredClone(body));
    const full = await fullPipe(dto, body);
    expect(fast).toBeInstanceOf(dto);
    expect(full).toEqual({ accepted: true, entity: fast });
  });

  it.each(BODIES.map(([dto, body]) => [dto.name, dto, body] as const))('%s: the fast path says yes only where the full pipe says yes, with an equal instance', async (_name, dto, body) => {
    const fields = [...Object.keys(body), 'extra', 'countedQuantity', 'delta', 'quantity'];
    const mutated = fc.array(fc.tuple(fc.constantFrom(...fields), fc.option(hostile, { freq: 5 })), { minLength: 1, maxLength: 3 }).map((changes) => {
      const next: Record<string, unknown> = { ...body };
      for (const [field, value] of changes) {
        if (value === null) delete next[field];
        else next[field] = value;
      }
      return next;
    });
    await fc.assert(
      fc.asyncProperty(mutated, async (candidate) => {
        const fast = fastBodyValidator(dto)?.(structuredClone(candidate)) ?? null;
        if (fast === null) return;
        const full = await fullPipe(dto, candidate);
        expect(full).toEqual({ accepted: true, entity: fast });
        expect(Object.getPrototypeOf(fast)).toBe(dto.prototype);
      }),
      { numRuns: 300 },
    );
  });

  it('leaves non-object bodies and nested objects to the full pipe', () => {
    const validator = fastBodyValidator(ReserveStockDto);
    for (const value of [undefined, null, [], 'text', 42, { reservationId: { id: 'a' }, channel: 'web', quantity: 1 }]) expect(validator?.(value)).toBeNull();
  });
});
