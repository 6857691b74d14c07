import {
  CHANNELS_STREAM_ID,
  channelAvailable,
  evolve,
  evolveChannels,
  initialChannelsState,
  initialState,
  skuStreamId,
  stockTotals,
  type ChannelsState,
  type SkuState,
  type StockTotals,
} from '@ledger/domain';
import type { EventStore } from '@ledger/event-store';
import { channelEvents, inventoryEvents } from '@ledger/ledger-model';
import { DEFAULT_PAGE_SIZE, streamPages } from './event-pages';
import { eventTime, isAtOrBefore, momentFromMs, type Moment } from './moments';

/**
 * "As of a moment" means the longest prefix of a stream whose events all happened at or before it
 * (metadata.occurredAt, else recordedAt). A stream is the order things happened in; should a clock
 * ever step back, an event stored after a later one is not pulled in ahead of it.
 */
export interface AsOf {
  /** Include events up to this moment. */
  at?: Moment | null;
  /** Include events up to this revision (inclusive). */
  revision?: number | null;
}

export interface SkuReplay {
  sku: string;
  streamExists: boolean;
  /** The stream's last revision now, -1 when it does not exist. */
  currentRevision: number;
  /** The last event folded in, -1 when none. */
  revision: number;
  position: number | null;
  /** When the last event folded in happened. */
  lastEventTime: string | null;
  state: SkuState;
  /** Channel configuration as of the same moment. */
  channels: ChannelsState;
}

/** Replays one SKU with the live system's own `evolve`, up to a moment or a revision. */
export async function replaySku(store: EventStore, sku: string, asOf: AsOf = {}, pageSize = DEFAULT_PAGE_SIZE): Promise<SkuReplay> {
  const state = initialState();
  let revision = -1;
  let position: number | null = null;
  let lastEventTime: string | null = null;
  const at = asOf.at ?? null;
  const toRevision = asOf.revision ?? Infinity;
  const head = await store.readStream(skuStreamId(sku), { direction: 'backwards', maxCount: 1 });
  if (head.streamExists && toRevision >= 0) {
    scan: for await (const page of streamPages(store, skuStreamId(sku), { toRevision, pageSize })) {
      for (let i = 0; i < page.length; i++) {
        const event = page[i];
        const time = eventTime(event);
        if (at && !isAtOrBefore(time, at)) break scan;
        const stockEvent = inventoryEvents.decode(event);
        if (stockEvent) evolve(state, stockEvent);
        revision = event.revision;
        position = event.position;
        lastEventTime = time;
      }
    }
  }
  // Channels as of the same moment: the one asked for, or when the last replayed event happened.
  let channels: ChannelsState;
  if (at) channels = await channelsAsOf(store, at);
  else if (asOf.revision == null) channels = await channelsAsOf(store);
  else if (lastEventTime && Number.isFinite(Date.parse(lastEventTime))) channels = await channelsAsOf(store, momentFromMs(Date.parse(lastEventTime)));
  else channels = initialChannelsState();
  return { sku, streamExists: head.streamExists, currentRevision: head.currentRevision, revision, position, lastEventTime, state, channels };
}

/** Which locations serve each channel as of a moment (undefined: now). */
export async function channelsAsOf(store: EventStore, at?: Moment, pageSize = DEFAULT_PAGE_SIZE): Promise<ChannelsState> {
  const channels = initialChannelsState();
  scan: for await (const page of streamPages(store, CHANNELS_STREAM_ID, { pageSize })) {
    for (const event of page) {
      if (at && !isAtOrBefore(eventTime(event), at)) break scan;
      const channelEvent = channelEvents.decode(event);
      if (channelEvent) evolveChannels(channels, channelEvent);
    }
  }
  return channels;
}

export interface LocationBalance {
  onHand: number;
  reserved: number;
  shortfall: number;
  pendingInspection: number;
  writtenOff: number;
  available: number;
}

export interface ChannelBalance {
  available: number;
  /** The channel's locations in order, null for every location. */
  locations: string[] | null;
}

/** A SKU's full figures at a point of its history, in the shape of the live GET /v1/skus/:sku. */
export interface SkuBalance {
  sku: string;
  /** The moment asked for, canonical ISO; null when asked by revision or for now. */
  at: string | null;
  /** The last event included; -1 when none yet. */
  revision: number;
  position: number | null;
  /** When the last included event happened. */
  asOf: string | null;
  currentRevision: number;
  totals: StockTotals;
  locations: Record<string, LocationBalance>;
  channels: Record<string, ChannelBalance>;
}

export function balanceOf(replay: SkuReplay, at: Moment | null = null): SkuBalance {
  const { state } = replay;
  const locations: Record<string, LocationBalance> = {};
  for (const [location, stock] of state.locations) {
    const { onHand, reserved, shortfall, pendingInspection, writtenOff } = stock;
    locations[location] = { onHand, reserved, shortfall, pendingInspection, writtenOff, available: onHand - reserved };
  }
  const channels: Record<string, ChannelBalance> = {};
  for (const channel of [...replay.channels.keys()].sort((a, b) => a.localeCompare(b))) {
    const list = replay.channels.get(channel) ?? null;
    channels[channel] = { available: channelAvailable(state, list), locations: list };
  }
  return {
    sku: replay.sku,
    at: at?.iso ?? null,
    revision: replay.revision,
    position: replay.position,
    asOf: replay.lastEventTime,
    currentRevision: replay.currentRevision,
    totals: stockTotals(state),
    locations,
    channels,
  };
}

export async function skuBalance(store: EventStore, sku: string, asOf: AsOf = {}): Promise<SkuBalance & { streamExists: boolean }> {
  const replay = await replaySku(store, sku, asOf);
  return { ...balanceOf(replay, asOf.at ?? null), streamExists: replay.streamExists };
}
