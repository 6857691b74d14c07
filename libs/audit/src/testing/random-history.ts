import * as fc from 'fast-check';
import {
  CHANNELS_STREAM_ID,
  decide,
  decideChannel,
  evolve,
  evolveChannels,
  initialChannelsState,
  initialState,
  skuStreamId,
  type ChannelsState,
  type InventoryEvent,
  type SkuCommand,
  type SkuState,
} from '@ledger/domain';
import type { EventStore } from '@ledger/event-store';
import { GENESIS_HASH, channelEvents, envelope, type CommandContext } from '@ledger/ledger-model';

/** Random but valid-looking ledger histories: commands through the real `decide`, as the live system runs them. */

export const T0 = Date.parse('2026-01-01T00:00:00.000Z');
export const LOCATIONS = ['A', 'B', 'C'];
export const CHANNEL_SETUP: Record<string, string[] | null> = { web: null, amz: ['B', 'A'], shop: ['C'] };
const CHANNELS = Object.keys(CHANNEL_SETUP);
const REASONS = ['cycle_count', 'damage', 'shrinkage', 'correction'] as const;

export interface Op {
  kind: 'receive' | 'count' | 'delta' | 'reserve' | 'commit' | 'release' | 'expire' | 'sell' | 'return' | 'inspect';
  location: number;
  quantity: number;
  pick: number;
  channel: number;
  /** Seconds the clock moves before this command. */
  advance: number;
}

export const opArbitrary: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom<Op['kind'][]>('receive', 'receive', 'count', 'delta', 'reserve', 'reserve', 'reserve', 'commit', 'commit', 'release', 'expire', 'sell', 'return', 'inspect'),
  location: fc.nat({ max: LOCATIONS.length - 1 }),
  quantity: fc.integer({ min: 0, max: 12 }),
  pick: fc.nat({ max: 50 }),
  channel: fc.nat({ max: CHANNELS.length - 1 }),
  advance: fc.integer({ min: 0, max: 90 }),
});

export const opsArbitrary = (maxLength = 60, minLength = Math.min(20, maxLength)) => fc.array(opArbitrary, { minLength, maxLength });

export interface HistoryStep {
  command?: SkuCommand;
  events: InventoryEvent[];
  now: number;
}

/** Turns ops into commands against the state as it goes; refused commands simply append nothing. */
export function historyFrom(ops: Op[], start = T0, idPrefix = ''): { steps: HistoryStep[]; state: SkuState } {
  const state = initialState();
  const steps: HistoryStep[] = [];
  const reservations: string[] = [];
  const returns: { id: string; quantity: number }[] = [];
  let now = start;
  let counter = 0;
  for (const op of ops) {
    now += op.advance * 1000;
    const location = LOCATIONS[op.location];
    const channel = CHANNELS[op.channel];
    const id = `${idPrefix}${op.kind}-${counter++}`;
    let command: SkuCommand;
    switch (op.kind) {
      case 'receive':
        command = { type: 'ReceiveStock', receiptId: id, location, quantity: Math.max(1, op.quantity), now };
        break;
      case 'count':
        command = { type: 'AdjustStock', adjustmentId: id, location, countedQuantity: op.quantity, reason: 'cycle_count', now };
        break;
      case 'delta':
        command = { type: 'AdjustStock', adjustmentId: id, location, delta: op.quantity - 6, reason: REASONS[op.pick % REASONS.length], now };
        break;
      case 'reserve':
        reservations.push(id);
        command = { type: 'ReserveStock', reservationId: id, channel, channelLocations: CHANNEL_SETUP[channel], quantity: Math.max(1, op.quantity % 7), ttlSeconds: 30 + op.pick * 3, now };
        break;
      case 'commit':
        command = { type: 'CommitReservation', reservationId: reservations[op.pick % Math.max(1, reservations.length)] ?? 'none', now };
        break;
      case 'release':
        command = { type: 'ReleaseReservation', reservationId: reservations[op.pick % Math.max(1, reservations.length)] ?? 'none', reason: 'cancelled', now };
        break;
      case 'expire':
        command = { type: 'ExpireReservations', now };
        break;
      case 'sell':
        command = { type: 'SellStock', saleId: id, channel, channelLocations: CHANNEL_SETUP[channel], quantity: Math.max(1, op.quantity % 5), now };
        break;
      case 'return':
        returns.push({ id, quantity: Math.max(1, op.quantity % 4) });
        command = { type: 'ReceiveReturn', returnId: id, location, quantity: Math.max(1, op.quantity % 4), now };
        break;
      case 'inspect': {
        const target = returns[op.pick % Math.max(1, returns.length)];
        const restock = target ? Math.min(target.quantity, op.quantity % (target.quantity + 1)) : 0;
        command = { type: 'InspectReturn', returnId: target?.id ?? 'none', restockQuantity: restock, writeOffQuantity: target ? target.quantity - restock : 0, now };
        break;
      }
    }
    const decision = decide(command, state);
    for (const event of decision.events) evolve(state, event);
    if (decision.events.length > 0) steps.push({ command, events: decision.events, now });
  }
  return { steps, state };
}

const CONTEXT: CommandContext = { commandId: 'cmd', actor: 'ops-1', role: 'ops', correlationId: 'corr' };

/** Appends steps to a SKU stream with real envelopes (metadata, hash chain), as the write side does. */
export async function writeHistory(store: EventStore, sku: string, steps: HistoryStep[], context: Partial<CommandContext> = {}): Promise<void> {
  const streamId = skuStreamId(sku);
  const { events: existing, currentRevision } = await store.readStream(streamId, { direction: 'backwards', maxCount: 1 });
  let prevHash = (existing[0]?.metadata.hash as string | undefined) ?? GENESIS_HASH;
  let revision = currentRevision;
  for (const [index, step] of steps.entries()) {
    const ctx = { ...CONTEXT, commandId: `${sku}-cmd-${revision + 1}-${index}`, ...context };
    const wrapped = step.events.map((event) => {
      const item = envelope(streamId, event, ctx, step.now, prevHash);
      prevHash = item.metadata.hash as string;
      return item;
    });
    const result = await store.appendToStream(streamId, wrapped, { expectedRevision: revision < 0 ? 'no_stream' : revision });
    revision = result.nextExpectedRevision;
  }
}

/** Configures the channels of CHANNEL_SETUP at `now` in the channels stream. */
export async function writeChannels(store: EventStore, now = T0, setup: Record<string, string[] | null> = CHANNEL_SETUP): Promise<ChannelsState> {
  const { events, currentRevision } = await store.readStream(CHANNELS_STREAM_ID);
  const state = initialChannelsState();
  for (const recorded of events) {
    const event = channelEvents.decode(recorded);
    if (event) evolveChannels(state, event);
  }
  let prevHash = (events[events.length - 1]?.metadata.hash as string | undefined) ?? GENESIS_HASH;
  let revision = currentRevision;
  for (const [channel, locations] of Object.entries(setup)) {
    const decided = decideChannel({ type: 'ConfigureChannel', channel, locations, now }, state);
    if (decided.error) throw decided.error;
    for (const event of decided.events) {
      const item = envelope(CHANNELS_STREAM_ID, event, { ...CONTEXT, commandId: `channel-${channel}-${now}` }, now, prevHash);
      prevHash = item.metadata.hash as string;
      const result = await store.appendToStream(CHANNELS_STREAM_ID, [item], { expectedRevision: revision < 0 ? 'no_stream' : revision });
      revision = result.nextExpectedRevision;
      evolveChannels(state, event);
    }
  }
  return state;
}
