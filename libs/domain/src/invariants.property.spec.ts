import * as fc from 'fast-check';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { decideChannel, evolveChannels, initialChannelsState } from './channels';
import type { SkuCommand } from './commands';
import { decide, type SkuDecision } from './decide';
import { DomainError } from './errors';
import { EventTypes, type AdjustmentReason, type Allocation, type InventoryEvent, type ReleaseReason, type ReservationReleased } from './events';
import { evolve, evolveAll } from './evolve';
import type { CommandResult } from './results';
import { cloneState, initialState, type ReservationStatus, type SkuState } from './state';
import { iso, T0 } from './testing/fixtures';

/**
 * Random command sequences against the real decider, with an independent oracle for what each
 * command must do and a check of every ledger invariant after every step. The oracle is written
 * from the rules, not from decide.ts: greedy allocation, expiry, shortage, idempotency.
 */

const LOCATIONS = ['L0', 'L1', 'L2', 'L3'];
const CHANNELS = ['web', 'pos', 'market', 'wholesale'];
const REASONS: AdjustmentReason[] = ['cycle_count', 'damage', 'shrinkage', 'correction'];
const MAX_QUANTITY = 1_000_000_000;

// ---------------------------------------------------------------------------------------------------
// Generators: intents resolved against the run as it goes (so repeats and inspections can aim).
// ---------------------------------------------------------------------------------------------------

/** Mostly good numbers, sometimes one decide must refuse. */
const mostly = (good: fc.Arbitrary<number>, ...bad: number[]) =>
  fc.oneof({ weight: 14, arbitrary: good }, { weight: 1, arbitrary: fc.constantFrom(...bad) });

const quantityUpTo = (max: number) => mostly(fc.integer({ min: 1, max }), 0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_QUANTITY + 1);
const quantity = quantityUpTo(6);
const countedQuantity = mostly(fc.integer({ min: 0, max: 12 }), -1, 2.5, Number.NaN, 1e10);
const delta = mostly(fc.integer({ min: -6, max: 6 }), 0.5, Number.NaN, Number.NEGATIVE_INFINITY, -2e9);
const ttlSeconds = mostly(fc.integer({ min: 1, max: 240 }), 0, -30, 2.5);
const split = mostly(fc.integer({ min: 0, max: 8 }), -1, 0.5, Number.NaN);
const index = fc.nat({ max: 3 });
const ref = fc.constantFrom(null, 'a', 'b');
const reason = fc.constantFrom(...REASONS);
/** Now and then a caller's own location list instead of the channel's: unchecked, so maybe with repeats. */
const rawLocations = fc.option(fc.array(fc.constantFrom(...LOCATIONS, 'ELSEWHERE'), { maxLength: 5 }), { nil: undefined, freq: 6 });

const intent = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('receive' as const), id: fc.nat({ max: 19 }), location: index, quantity: quantityUpTo(12), reference: ref }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('count' as const), id: fc.nat({ max: 19 }), location: index, value: countedQuantity, belowHeld: fc.boolean(), reason }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delta' as const), id: fc.nat({ max: 19 }), location: index, value: delta, reason }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('malformedAdjust' as const), id: fc.nat({ max: 19 }), location: index, both: fc.boolean() }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('reserve' as const), id: fc.nat({ max: 29 }), channel: index, rawLocations, quantity, ttlSeconds, orderRef: ref }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('commit' as const), id: fc.nat({ max: 99 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('release' as const),
      id: fc.nat({ max: 99 }),
      reason: fc.oneof({ weight: 4, arbitrary: fc.constant<ReleaseReason>('cancelled') }, { weight: 1, arbitrary: fc.constant<ReleaseReason>('expired') }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('sell' as const), id: fc.nat({ max: 14 }), channel: index, rawLocations, quantity }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('return' as const),
      id: fc.nat({ max: 9 }),
      location: index,
      quantity,
      orderRef: ref,
      channel: fc.option(index, { nil: null }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('inspect' as const), id: fc.nat({ max: 99 }), restock: split, writeOff: split, fit: fc.nat({ max: 3 }).map((n) => n > 0) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('repeat' as const), back: fc.oneof(fc.nat({ max: 4 }), fc.nat()), mutate: fc.boolean(), field: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('configure' as const),
      channel: index,
      locations: fc.option(fc.array(fc.constantFrom(...LOCATIONS, 'ELSEWHERE'), { maxLength: 4 }), { nil: null }),
    }),
  },
);
type Intent = typeof intent extends fc.Arbitrary<infer T> ? T : never;

const step = fc.record({
  /**
   * Mostly whole seconds forward (so now often lands exactly on an expiresAt); now and then a jump past
   * most TTLs, an odd millisecond, or a little back (clocks of two nodes disagree).
   */
  advanceMs: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 10 }).map((seconds) => seconds * 1000) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 240 }).map((seconds) => seconds * 1000) },
    { weight: 1, arbitrary: fc.integer({ min: -5_000, max: 10_000 }) },
  ),
  /** Sometimes jump exactly to the next expiry: the boundary where a hold is first treated as expired. */
  toExpiry: fc.nat({ max: 7 }).map((n) => n === 0),
  badNow: fc.nat({ max: 39 }).map((n) => n === 0),
  intent,
});
type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

const scenario = fc.record({
  locationCount: fc.integer({ min: 2, max: 4 }),
  channelLocations: fc.array(fc.option(fc.shuffledSubarray([...LOCATIONS, 'ELSEWHERE'], { minLength: 1 }), { nil: null, freq: 3 }), {
    minLength: 2,
    maxLength: 4,
  }),
  steps: fc.array(step, { maxLength: 60, size: 'max' }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

// ---------------------------------------------------------------------------------------------------
// The oracle's view of commands: identity, payload, validity.
// ---------------------------------------------------------------------------------------------------

const isInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && Math.abs(value) <= MAX_QUANTITY;
const isQuantity = (value: unknown, min: number): value is number => isInteger(value) && value >= min;

/** The key under which a command's first run answers its repeats (null for commands without one). */
function idempotencyKey(command: SkuCommand): string | null {
  switch (command.type) {
    case 'ReceiveStock':
      return `receipt:${command.receiptId}`;
    case 'AdjustStock':
      return `adjustment:${command.adjustmentId}`;
    case 'ReserveStock':
      return `reservation:${command.reservationId}`;
    case 'SellStock':
      return `sale:${command.saleId}`;
    case 'ReceiveReturn':
      return `return:${command.returnId}`;
    case 'InspectReturn':
      return `inspection:${command.returnId}`;
    default:
      return null;
  }
}

/** What makes two runs of the same id "the same request" (never `now`, nor a channel's locations). */
function payload(command: SkuCommand): string {
  const fields = ((): unknown[] => {
    switch (command.type) {
      case 'ReceiveStock':
        return [command.location, command.quantity, command.reference ?? null];
      case 'AdjustStock':
        return command.countedQuantity !== undefined
          ? ['count', command.location, command.reason, command.countedQuantity]
          : ['delta', command.location, command.reason, command.delta];
      case 'ReserveStock':
        return [command.channel, command.quantity, command.ttlSeconds, command.orderRef ?? null];
      case 'SellStock':
        return [command.channel, command.quantity];
      case 'ReceiveReturn':
        return [command.location, command.quantity, command.orderRef ?? null, command.channel ?? null];
      case 'InspectReturn':
        return [command.restockQuantity, command.writeOffQuantity];
      default:
        return [];
    }
  })();
  return fields.map(String).join('|');
}

function numbersValid(command: SkuCommand): boolean {
  switch (command.type) {
    case 'ReceiveStock':
    case 'SellStock':
    case 'ReceiveReturn':
      return isQuantity(command.quantity, 1);
    case 'AdjustStock':
      return command.countedQuantity !== undefined ? isQuantity(command.countedQuantity, 0) : isInteger(command.delta);
    case 'ReserveStock':
      return isQuantity(command.quantity, 1) && isQuantity(command.ttlSeconds, 1);
    case 'InspectReturn':
      return isQuantity(command.restockQuantity, 0) && isQuantity(command.writeOffQuantity, 0);
    default:
      return true;
  }
}

/** The same command with one payload field (picked by `field`) changed; without a payload, the same command. */
function mutated(command: SkuCommand, field: number): SkuCommand {
  const other = (value: string | null | undefined, from: string[]) => from[(from.indexOf(value ?? '') + 1) % from.length];
  const pick = <T>(...variants: T[]) => variants[field % variants.length];
  switch (command.type) {
    case 'ReceiveStock':
      return pick<SkuCommand>(
        { ...command, quantity: command.quantity + 1 },
        { ...command, location: other(command.location, LOCATIONS) },
        { ...command, reference: other(command.reference, ['a', 'b']) },
      );
    case 'AdjustStock': {
      const changedValue: SkuCommand =
        command.countedQuantity !== undefined ? { ...command, countedQuantity: command.countedQuantity + 1 } : { ...command, delta: (command.delta ?? 0) - 1 };
      const otherMode: SkuCommand =
        command.countedQuantity !== undefined ? { ...command, countedQuantity: undefined, delta: 0 } : { ...command, delta: undefined, countedQuantity: 0 };
      return pick(changedValue, otherMode, { ...command, location: other(command.location, LOCATIONS) }, { ...command, reason: other(command.reason, REASONS) as AdjustmentReason });
    }
    case 'ReserveStock':
      return pick<SkuCommand>(
        { ...command, quantity: command.quantity + 1 },
        { ...command, ttlSeconds: command.ttlSeconds + 1 },
        { ...command, channel: other(command.channel, CHANNELS) },
        { ...command, orderRef: other(command.orderRef, ['a', 'b']) },
      );
    case 'SellStock':
      return pick<SkuCommand>({ ...command, quantity: command.quantity + 1 }, { ...command, channel: other(command.channel, CHANNELS) });
    case 'ReceiveReturn':
      return pick<SkuCommand>(
        { ...command, quantity: command.quantity + 1 },
        { ...command, location: other(command.location, LOCATIONS) },
        { ...command, orderRef: other(command.orderRef, ['a', 'b']) },
        { ...command, channel: other(command.channel, CHANNELS) },
      );
    case 'InspectReturn':
      return { ...command, restockQuantity: command.restockQuantity + 1, writeOffQuantity: command.writeOffQuantity - 1 };
    case 'ReleaseReservation':
      return { ...command, reason: command.reason === 'cancelled' ? 'expired' : 'cancelled' };
    default:
      return command;
  }
}

// ---------------------------------------------------------------------------------------------------
// Independent models of allocation and holds.
// ---------------------------------------------------------------------------------------------------

const free = (state: SkuState, location: string) => {
  const stock = state.locations.get(location);
  return stock ? stock.onHand - stock.reserved : 0;
};

const orderOf = (state: SkuState, locations: readonly string[] | null) => [...new Set(locations ?? [...state.locations.keys()])];

function availableFor(state: SkuState, locations: readonly string[] | null): number {
  return orderOf(state, locations).reduce((sum, location) => sum + free(state, location), 0);
}

function greedy(state: SkuState, locations: readonly string[] | null, quantity: number): Allocation[] {
  const allocations: Allocation[] = [];
  let remaining = quantity;
  for (const location of orderOf(state, locations)) {
    const take = Math.min(free(state, location), remaining);
    if (take > 0) allocations.push({ location, quantity: take });
    remaining -= take;
  }
  is(remaining, 0);
  return allocations;
}

const heldReservations = (state: SkuState) => [...state.reservations.values()].filter((r) => r.status === 'held');

const expiredHolds = (state: SkuState, now: number) => heldReservations(state).filter((r) => r.expiresAtMs <= now);

function heldAt(state: SkuState, location: string): { quantity: number; ids: string[] } {
  let quantity = 0;
  const ids: string[] = [];
  for (const reservation of heldReservations(state)) {
    const here = reservation.allocations.filter((a) => a.location === location);
    if (here.length) ids.push(reservation.reservationId);
    for (const allocation of here) quantity += allocation.quantity;
  }
  return { quantity, ids };
}

const releaseOf = (state: SkuState, id: string, reason: ReleaseReason): ReservationReleased => {
  const { reservationId, channel, quantity, allocations } = state.reservations.get(id)!;
  return { type: EventTypes.ReservationReleased, data: { reservationId, channel, quantity, allocations, reason } };
};

const sorted = (ids: string[]) => [...ids].sort();

// ---------------------------------------------------------------------------------------------------
// One run: issue commands, check each decision against the oracle, then check every invariant.
// ---------------------------------------------------------------------------------------------------

class Run {
  readonly state = initialState();
  readonly channels = initialChannelsState();
  readonly events: InventoryEvent[] = [];
  readonly issued: SkuCommand[] = [];
  readonly firstRuns = new Map<string, { payload: string; result: CommandResult }>();
  readonly statuses = new Map<string, ReservationStatus>();
  now = T0;

  constructor(private readonly scenario: Scenario) {
    scenario.channelLocations.forEach((locations, i) => this.configure(CHANNELS[i], locations));
  }

  private get locations() {
    return LOCATIONS.slice(0, this.scenario.locationCount);
  }

  private location(i: number) {
    return this.locations[i % this.locations.length];
  }

  private channel(i: number) {
    return CHANNELS[i % this.scenario.channelLocations.length];
  }

  configure(channel: string, locations: string[] | null): void {
    const duplicated = locations !== null && new Set(locations).size !== locations.length;
    const decision = decideChannel({ type: 'ConfigureChannel', channel, locations, now: 0 }, this.channels);
    if (decision.error) {
      is(duplicated, true);
      ok(decision.error instanceof DomainError);
      is(decision.error.code, 'INVALID_COMMAND');
      same(decision.events, []);
      return;
    }
    const { events } = decision;
    is(duplicated, false);
    const wanted = locations && locations.length ? locations : null;
    const unchanged = this.channels.has(channel) && isDeepStrictEqual(plain(this.channels.get(channel)), plain(wanted));
    same(events, unchanged ? [] : [{ type: EventTypes.ChannelConfigured, data: { channel, locations: wanted } }]);
    for (const event of events) evolveChannels(this.channels, event);
    same(this.channels.get(channel), wanted);
  }

  play({ advanceMs, toExpiry, badNow, intent }: Step): void {
    this.now += advanceMs;
    if (toExpiry && this.state.earliestHeldExpiryMs !== Infinity) this.now = Math.max(this.now, this.state.earliestHeldExpiryMs);
    if (intent.kind === 'configure') return this.configure(this.channel(intent.channel), intent.locations);
    const command = this.resolve(intent, badNow ? Number.NaN : this.now);
    this.issued.push(command);

    const before = cloneState(this.state);
    const decision = decide(command, this.state);
    // decide is pure: the live state must be exactly what it was.
    expectSameState(this.state, before);
    this.checkShape(command, decision);
    this.checkDecision(command, decision, before);

    for (const event of decision.events) evolve(this.state, event);
    this.events.push(...decision.events);
    this.record(command, decision);
    this.checkInvariants(decision, before);
  }

  private resolve(intent: Exclude<Intent, { kind: 'configure' }>, now: number): SkuCommand {
    switch (intent.kind) {
      case 'receive':
        return { type: 'ReceiveStock', receiptId: `rc${intent.id}`, location: this.location(intent.location), quantity: intent.quantity, reference: intent.reference, now };
      case 'count': {
        // Half the counts land at or just under what is held where most is held, where shortages happen.
        const aimed = intent.belowHeld && isInteger(intent.value) ? this.mostHeld() : undefined;
        const location = aimed ?? this.location(intent.location);
        const stock = this.state.locations.get(location);
        const countedQuantity = aimed && stock ? Math.max(0, stock.reserved + stock.shortfall - (intent.value % 4)) : intent.value;
        return { type: 'AdjustStock', adjustmentId: `adj${intent.id}`, location, countedQuantity, reason: intent.reason, now };
      }
      case 'delta':
        return { type: 'AdjustStock', adjustmentId: `adj${intent.id}`, location: this.location(intent.location), delta: intent.value, reason: intent.reason, now };
      case 'malformedAdjust': {
        const both = intent.both ? { countedQuantity: 1, delta: 1 } : {};
        return { type: 'AdjustStock', adjustmentId: `adj${intent.id}`, location: this.location(intent.location), reason: 'correction', ...both, now };
      }
      case 'reserve': {
        const channel = this.channel(intent.channel);
        const { quantity, ttlSeconds, orderRef } = intent;
        return { type: 'ReserveStock', reservationId: `h${intent.id}`, channel, channelLocations: intent.rawLocations ?? this.channels.get(channel) ?? null, quantity, ttlSeconds, orderRef, now };
      }
      case 'commit':
        return { type: 'CommitReservation', reservationId: this.aimAtHold(intent.id), now };
      case 'release':
        return { type: 'ReleaseReservation', reservationId: this.aimAtHold(intent.id), reason: intent.reason, now };
      case 'expire':
        return { type: 'ExpireReservations', now };
      case 'sell': {
        const channel = this.channel(intent.channel);
        return { type: 'SellStock', saleId: `s${intent.id}`, channel, channelLocations: intent.rawLocations ?? this.channels.get(channel) ?? null, quantity: intent.quantity, now };
      }
      case 'return': {
        const channel = intent.channel === null ? null : this.channel(intent.channel);
        return { type: 'ReceiveReturn', returnId: `x${intent.id}`, location: this.location(intent.location), quantity: intent.quantity, orderRef: intent.orderRef, channel, now };
      }
      case 'inspect': {
        const returnId = this.aim(this.state.returns, 'x', intent.id);
        const received = this.state.returns.get(returnId)?.quantity;
        // Aimed inspections account for every unit; unaimed ones mostly do not, and must be refused.
        if (intent.fit && received !== undefined && isQuantity(intent.restock, 0)) {
          const restockQuantity = Math.min(intent.restock, received);
          return { type: 'InspectReturn', returnId, restockQuantity, writeOffQuantity: received - restockQuantity, now };
        }
        return { type: 'InspectReturn', returnId, restockQuantity: intent.restock, writeOffQuantity: intent.writeOff, now };
      }
      case 'repeat': {
        if (this.issued.length === 0) return { type: 'ExpireReservations', now };
        const earlier = this.issued[this.issued.length - 1 - (intent.back % this.issued.length)];
        return { ...(intent.mutate ? mutated(earlier, intent.field) : earlier), now };
      }
    }
  }

  private mostHeld(): string | undefined {
    let best: string | undefined;
    let most = 0;
    for (const [location, stock] of this.state.locations) {
      if (stock.reserved + stock.shortfall > most) [best, most] = [location, stock.reserved + stock.shortfall];
    }
    return best;
  }

  /** Mostly a hold still held (where commit and release have something to decide), else any id. */
  private aimAtHold(pick: number): string {
    return pick % 3 === 0 || this.state.held.size === 0 ? this.aim(this.state.reservations, 'h', pick) : [...this.state.held][pick % this.state.held.size];
  }

  /** Mostly an id the SKU knows (so the command gets past "not found"), sometimes any id of the pool. */
  private aim(known: Map<string, unknown>, prefix: string, pick: number): string {
    if (known.size === 0 || pick % 5 === 0) return `${prefix}${pick % 30}`;
    return [...known.keys()][pick % known.size];
  }

  /** Exactly one of result and error; only a commit of an expired hold is refused with events. */
  private checkShape(command: SkuCommand, decision: SkuDecision): void {
    is((decision.result === undefined) !== (decision.error === undefined), true);
    if (decision.error) {
      ok(decision.error instanceof DomainError);
      const expiredCommit =
        command.type === 'CommitReservation' &&
        decision.events.length === 1 &&
        decision.events[0].type === EventTypes.ReservationReleased &&
        decision.events[0].data.reason === 'expired' &&
        decision.error.code === 'INVALID_STATE';
      if (!expiredCommit) same(decision.events, []);
    }
  }

  private checkDecision(command: SkuCommand, decision: SkuDecision, before: SkuState): void {
    if (!Number.isFinite(command.now) || command.now < 0) return expectRefused(decision, 'INVALID_COMMAND');
    const key = idempotencyKey(command);
    if (command.type === 'AdjustStock' && (command.countedQuantity === undefined) === (command.delta === undefined)) {
      return expectRefused(decision, 'INVALID_COMMAND');
    }
    // An adjustment compares a repeat before reading its numbers; every other command reads them first.
    if (command.type !== 'AdjustStock' && !numbersValid(command)) return expectRefused(decision, 'INVALID_COMMAND');
    if (command.type === 'InspectReturn' && !before.returns.has(command.returnId)) return expectRefused(decision, 'RETURN_NOT_FOUND');
    const first = key === null ? undefined : this.firstRuns.get(key);
    if (first) {
      if (first.payload !== payload(command)) return expectRefused(decision, 'IDEMPOTENCY_CONFLICT');
      same(decision.events, []);
      is(decision.error, undefined);
      same(decision.result, first.result);
      return;
    }
    if (!numbersValid(command)) return expectRefused(decision, 'INVALID_COMMAND');

    switch (command.type) {
      case 'ReceiveStock':
        same(decision.events, [
          { type: EventTypes.StockReceived, data: { receiptId: command.receiptId, location: command.location, quantity: command.quantity, reference: command.reference ?? null } },
        ]);
        return;
      case 'AdjustStock':
        return this.checkAdjustment(command, decision, before);
      case 'ReserveStock':
      case 'SellStock':
        return this.checkAllocation(command, decision, before);
      case 'CommitReservation':
        return this.checkCommit(command, decision, before);
      case 'ReleaseReservation':
        return this.checkRelease(command, decision, before);
      case 'ExpireReservations': {
        const expired = expiredHolds(before, command.now).map((r) => r.reservationId);
        same(sorted(decision.events.map((e) => (e as ReservationReleased).data.reservationId)), sorted(expired));
        same(decision.events, expired.map((id) => releaseOf(before, id, 'expired')));
        same(decision.result, { expired });
        return;
      }
      case 'ReceiveReturn':
        same(decision.events, [
          {
            type: EventTypes.ReturnReceived,
            data: { returnId: command.returnId, location: command.location, quantity: command.quantity, orderRef: command.orderRef ?? null, channel: command.channel ?? null },
          },
        ]);
        return;
      case 'InspectReturn': {
        const record = before.returns.get(command.returnId)!;
        if (command.restockQuantity + command.writeOffQuantity !== record.quantity) return expectRefused(decision, 'INVALID_STATE');
        is(record.status, 'pending_inspection');
        same(decision.events, [
          { type: EventTypes.ReturnInspected, data: { returnId: command.returnId, location: record.location, restockQuantity: command.restockQuantity, writeOffQuantity: command.writeOffQuantity } },
        ]);
        return;
      }
    }
  }

  private checkAdjustment(command: Extract<SkuCommand, { type: 'AdjustStock' }>, decision: SkuDecision, before: SkuState): void {
    const stock = before.locations.get(command.location);
    const onHand = stock?.onHand ?? 0;
    const held = (stock?.reserved ?? 0) + (stock?.shortfall ?? 0);
    const isCount = command.countedQuantity !== undefined;
    const counted = isCount ? command.countedQuantity! : onHand + command.delta!;
    if (counted < 0) return expectRefused(decision, 'INVALID_STATE');
    const shortfall = Math.max(0, held - counted);
    const { adjustmentId, location, reason } = command;
    same(decision.events[0], {
      type: EventTypes.StockAdjusted,
      data: { adjustmentId, location, mode: isCount ? 'count' : 'delta', delta: counted - onHand, countedQuantity: counted, reason },
    });
    // A count below what is held always names the holds at risk; a delta only when it deepens the gap.
    const reported = isCount ? counted < held : shortfall > (stock?.shortfall ?? 0);
    if (reported) {
      is(decision.events.length, 2);
      const shortage = decision.events[1];
      is(shortage.type, EventTypes.StockShortageDetected);
      if (shortage.type !== EventTypes.StockShortageDetected) return;
      same({ ...shortage.data, reservationsAtRisk: [] }, { adjustmentId, location, shortfall, reservationsAtRisk: [] });
      same(sorted(shortage.data.reservationsAtRisk), sorted(heldAt(before, location).ids));
    } else {
      is(decision.events.length, 1);
    }
    same(decision.result, { adjustmentId, location, delta: counted - onHand, countedQuantity: counted, reason, shortfall });
  }

  /**
   * Reserve and sell: expired holds never block (they are released in the same decision when in the
   * way), and what is taken is the greedy walk over the channel's locations once those releases apply.
   */
  private checkAllocation(command: Extract<SkuCommand, { type: 'ReserveStock' | 'SellStock' }>, decision: SkuDecision, before: SkuState): void {
    const expired = expiredHolds(before, command.now);
    const withoutExpired = evolveAll(cloneState(before), expired.map((r) => releaseOf(before, r.reservationId, 'expired')));
    const available = availableFor(withoutExpired, command.channelLocations);
    if (available < command.quantity) {
      expectRefused(decision, 'INSUFFICIENT_STOCK');
      same(decision.error?.details, { available });
      return;
    }
    is(decision.error, undefined);
    const releases = decision.events.slice(0, -1);
    const expiredIds = new Set(expired.map((r) => r.reservationId));
    const releasedIds = releases.map((e) => (e as ReservationReleased).data.reservationId);
    is(new Set(releasedIds).size, releasedIds.length);
    for (const id of releasedIds) {
      is(expiredIds.has(id), true);
      same(releases[releasedIds.indexOf(id)], releaseOf(before, id, 'expired'));
    }
    const allocations = greedy(evolveAll(cloneState(before), releases), command.channelLocations, command.quantity);
    const last = decision.events[decision.events.length - 1];
    if (command.type === 'SellStock') {
      const data = { saleId: command.saleId, channel: command.channel, quantity: command.quantity, allocations };
      same(last, { type: EventTypes.StockSold, data });
      same(decision.result, data);
    } else {
      const { reservationId, channel, quantity, ttlSeconds } = command;
      const expiresAt = iso(command.now + ttlSeconds * 1000);
      same(last, { type: EventTypes.StockReserved, data: { reservationId, channel, quantity, allocations, ttlSeconds, expiresAt, orderRef: command.orderRef ?? null } });
      same(decision.result, { reservationId, status: 'held', channel, quantity, allocations, expiresAt });
    }
  }

  private checkCommit(command: Extract<SkuCommand, { type: 'CommitReservation' }>, decision: SkuDecision, before: SkuState): void {
    const reservation = before.reservations.get(command.reservationId);
    if (!reservation) return expectRefused(decision, 'RESERVATION_NOT_FOUND');
    if (reservation.status === 'committed') {
      same(decision.events, []);
      same(decision.result, { reservationId: command.reservationId, status: 'committed' });
      return;
    }
    if (reservation.status !== 'held') return expectRefused(decision, 'INVALID_STATE');
    if (reservation.expiresAtMs <= command.now) {
      is(decision.error?.code, 'INVALID_STATE');
      same(decision.events, [releaseOf(before, command.reservationId, 'expired')]);
      return;
    }
    const short = reservation.allocations.some((a) => (before.locations.get(a.location)?.reserved ?? 0) < a.quantity);
    if (short) return expectRefused(decision, 'INSUFFICIENT_STOCK');
    const { reservationId, channel, quantity, allocations } = reservation;
    same(decision.events, [{ type: EventTypes.ReservationCommitted, data: { reservationId, channel, quantity, allocations } }]);
    same(decision.result, { reservationId, status: 'committed' });
  }

  private checkRelease(command: Extract<SkuCommand, { type: 'ReleaseReservation' }>, decision: SkuDecision, before: SkuState): void {
    const reservation = before.reservations.get(command.reservationId);
    if (!reservation) return expectRefused(decision, 'RESERVATION_NOT_FOUND');
    if (reservation.status === 'committed') return expectRefused(decision, 'INVALID_STATE');
    const reason = reservation.status === 'held' ? command.reason : reservation.releaseReason!;
    same(decision.events, reservation.status === 'held' ? [releaseOf(before, command.reservationId, command.reason)] : []);
    same(decision.result, { reservationId: command.reservationId, status: 'released', reason });
  }

  private record(command: SkuCommand, decision: SkuDecision): void {
    const key = idempotencyKey(command);
    if (key && !decision.error && !this.firstRuns.has(key)) {
      ok(decision.events.length > 0, 'a first run appends');
      this.firstRuns.set(key, { payload: payload(command), result: decision.result });
    }
  }

  private checkInvariants(decision: SkuDecision, before: SkuState): void {
    const state = this.state;

    // Every location: 0 <= reserved <= onHand, nothing negative, held units = reserved + shortfall.
    for (const [location, stock] of state.locations) {
      for (const [figure, value] of Object.entries(stock)) ok(Number.isSafeInteger(value) && value >= 0, `${figure} = ${value} at ${location}`);
      ok(stock.reserved <= stock.onHand, `reserved ${stock.reserved} > on hand ${stock.onHand} at ${location}`);
      is(stock.reserved + stock.shortfall, heldAt(state, location).quantity);
    }

    // Reservations only move forward, and the held index agrees with the statuses.
    for (const [id, reservation] of state.reservations) {
      const previous = this.statuses.get(id);
      if (previous !== undefined && previous !== 'held') is(reservation.status, previous);
      this.statuses.set(id, reservation.status);
      is(reservation.releaseReason === null, reservation.status === 'held' || reservation.status === 'committed');
      is(reservation.allocations.reduce((sum, a) => sum + a.quantity, 0), reservation.quantity);
    }
    is(state.reservations.size, this.statuses.size);
    const held = heldReservations(state);
    same(sorted([...state.held]), sorted(held.map((r) => r.reservationId)));
    is(state.earliestHeldExpiryMs, Math.min(Infinity, ...held.map((r) => r.expiresAtMs)));

    // Returns: pending inspection is exactly what waits; inspection accounts for what was received, no more.
    for (const location of state.locations.keys()) {
      const returns = [...state.returns.values()].filter((r) => r.location === location);
      const pending = returns.filter((r) => r.status === 'pending_inspection').reduce((sum, r) => sum + r.quantity, 0);
      const writtenOff = returns.reduce((sum, r) => sum + (r.writeOffQuantity ?? 0), 0);
      is(state.locations.get(location)!.pendingInspection, pending);
      is(state.locations.get(location)!.writtenOff, writtenOff);
    }
    for (const record of state.returns.values()) {
      if (record.status === 'inspected') is(record.restockQuantity! + record.writeOffQuantity!, record.quantity);
      else is(record.restockQuantity, null);
    }

    // New sellable units cover a shortfall before they become available.
    const only = decision.events.length === 1 ? decision.events[0] : undefined;
    const added =
      only?.type === EventTypes.StockReceived ? { location: only.data.location, quantity: only.data.quantity }
      : only?.type === EventTypes.ReturnInspected ? { location: only.data.location, quantity: only.data.restockQuantity }
      : undefined;
    if (added) {
      const was = before.locations.get(added.location);
      const now = state.locations.get(added.location)!;
      const cover = Math.min(was?.shortfall ?? 0, added.quantity);
      is(now.shortfall, (was?.shortfall ?? 0) - cover);
      is(now.reserved, (was?.reserved ?? 0) + cover);
    }

    // Released holds give back their unbacked units first: what a count left short goes before what is backed.
    if (decision.events.length && decision.events.every((e) => e.type === EventTypes.ReservationReleased)) {
      const releasedAt = new Map<string, number>();
      for (const event of decision.events as ReservationReleased[]) {
        for (const a of event.data.allocations) releasedAt.set(a.location, (releasedAt.get(a.location) ?? 0) + a.quantity);
      }
      for (const [location, quantity] of releasedAt) {
        const was = before.locations.get(location)!;
        const fromShortfall = Math.min(was.shortfall, quantity);
        is(state.locations.get(location)!.shortfall, was.shortfall - fromShortfall);
        is(state.locations.get(location)!.reserved, was.reserved - (quantity - fromShortfall));
      }
    }

    // Conservation, per location: on hand is what the events brought in less what they took out.
    const expected = new Map<string, number>();
    const add = (location: string, quantity: number) => expected.set(location, (expected.get(location) ?? 0) + quantity);
    for (const event of this.events) {
      if (event.type === EventTypes.StockReceived) add(event.data.location, event.data.quantity);
      if (event.type === EventTypes.StockAdjusted) add(event.data.location, event.data.delta);
      if (event.type === EventTypes.ReturnInspected) add(event.data.location, event.data.restockQuantity);
      if (event.type === EventTypes.ReservationCommitted || event.type === EventTypes.StockSold) {
        for (const a of event.data.allocations) add(a.location, -a.quantity);
      }
    }
    for (const [location, stock] of state.locations) is(stock.onHand, expected.get(location) ?? 0);

    // Folding every event from the start gives the live state, locations in the same first-seen order.
    expectSameState(evolveAll(initialState(), this.events), state);
  }
}

// node:assert rather than jest's expect: twelve thousand steps make expect's per-call cost the whole runtime.
// Deep comparisons go through `plain` (below): cloneState's structuredClone builds objects and arrays in
// Node's realm, not the test's, and a strict deep-equal would call those different for their prototypes alone.
const same = <T>(actual: T, expected: T) => assert.deepStrictEqual(plain(actual), plain(expected));
const is = <T>(actual: T, expected: T) => assert.strictEqual(actual, expected);
const ok = (condition: boolean, message?: string) => assert.ok(condition, message);

function expectRefused(decision: SkuDecision, code: string): void {
  is(decision.error?.code, code);
  same(decision.events, []);
}

/** Equal states, entry order included (first-seen order of locations matters to null channels). */
function expectSameState(actual: SkuState, expected: SkuState): void {
  same(actual, expected);
}

/** The value rebuilt from this realm's objects and arrays, Maps and Sets as ordered entries. */
function plain(value: unknown): unknown {
  if (value instanceof Map) return { map: [...value].map(([key, entry]) => [key, plain(entry)]) };
  if (value instanceof Set) return { set: [...value] };
  if (Array.isArray(value)) return Array.from(value, plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, plain(entry)]));
  return value;
}

describe('decider invariants over random command sequences', () => {
  it('holds every invariant after every command', () => {
    fc.assert(
      fc.property(scenario, (generated) => {
        const run = new Run(generated);
        for (const s of generated.steps) run.play(s);
      }),
      { numRuns: 200 },
    );
  });
});
