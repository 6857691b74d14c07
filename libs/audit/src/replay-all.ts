import {
  CHANNELS_STREAM_ID,
  evolve,
  evolveChannels,
  initialChannelsState,
  initialState,
  skuFromStreamId,
  stockTotals,
  type SkuState,
} from '@ledger/domain';
import type { EventStore } from '@ledger/event-store';
import { channelEvents, inventoryEvents } from '@ledger/ledger-model';
import { allPages, type ProgressListener } from './event-pages';
import { figuresAtIn, foldLocationFigures, totalsOf, zeroTotals, type FigureTotals, type LocationFigures } from './location-fold';

export interface ReplayAllOptions {
  /**
   * 'domain' (default): every SKU through the live system's own `evolve`, full states (reservations,
   * receipts...) as the write side would rebuild them. 'figures': the auditor's numeric fold, numbers
   * per (SKU, location) only: flat memory for ledgers of any size.
   */
  mode?: 'domain' | 'figures';
  /** Events per readAll call. */
  pageSize?: number;
}

export interface ReplayAllResult {
  mode: 'domain' | 'figures';
  events: number;
  skus: number;
  channels: number;
  lastPosition: number | null;
  durationMs: number;
  eventsPerSecond: number;
  /** Totals over every SKU and location at the end of the replay. */
  totals: FigureTotals;
}

export const REPLAY_ALL_PAGE_SIZE = 10_000;

/**
 * Replays the whole ledger in global order, a big page at a time, and says how fast: what a
 * benchmark measures, and what rebuilding every SKU from scratch costs.
 */
export async function replayAll(store: EventStore, onProgress?: ProgressListener, options: ReplayAllOptions = {}): Promise<ReplayAllResult> {
  const mode = options.mode ?? 'domain';
  const pageSize = options.pageSize ?? REPLAY_ALL_PAGE_SIZE;
  const started = performance.now();
  const head = onProgress ? await store.headPosition() : null;
  const states = new Map<string, SkuState>();
  const figures = new Map<string, { locations: Map<string, LocationFigures>; at: (location: string) => LocationFigures }>();
  const channels = initialChannelsState();
  let events = 0;
  let lastPosition: number | null = null;
  for await (const page of allPages(store, { pageSize })) {
    for (let i = 0; i < page.length; i++) {
      const event = page[i];
      if (event.streamId === CHANNELS_STREAM_ID) {
        const channelEvent = channelEvents.decode(event);
        if (channelEvent) evolveChannels(channels, channelEvent);
        continue;
      }
      if (mode === 'domain') {
        let state = states.get(event.streamId);
        if (state === undefined) {
          if (skuFromStreamId(event.streamId) === null) continue;
          state = initialState();
          states.set(event.streamId, state);
        }
        const stockEvent = inventoryEvents.decode(event);
        if (stockEvent) evolve(state, stockEvent);
      } else {
        let sku = figures.get(event.streamId);
        if (sku === undefined) {
          if (skuFromStreamId(event.streamId) === null) continue;
          const locations = new Map<string, LocationFigures>();
          sku = { locations, at: figuresAtIn(locations) };
          figures.set(event.streamId, sku);
        }
        foldLocationFigures(sku.at, event.type, event.data);
      }
    }
    events += page.length;
    lastPosition = page[page.length - 1].position;
    onProgress?.({ events, position: lastPosition, head, elapsedMs: performance.now() - started });
  }
  const durationMs = performance.now() - started;
  const totals = zeroTotals();
  const add = (part: FigureTotals) => {
    for (const key of Object.keys(totals) as (keyof FigureTotals)[]) totals[key] += part[key];
  };
  if (mode === 'domain') for (const state of states.values()) add(stockTotals(state));
  else for (const sku of figures.values()) add(totalsOf(sku.locations.values()));
  return {
    mode,
    events,
    skus: mode === 'domain' ? states.size : figures.size,
    channels: channels.size,
    lastPosition,
    durationMs,
    eventsPerSecond: durationMs > 0 ? Math.round((events / durationMs) * 1000) : events,
    totals,
  };
}
