import { skuStreamId } from '@ledger/domain';
import type { EventStore, JsonObject, RecordedEvent } from '@ledger/event-store';
import { DEFAULT_PAGE_SIZE, streamPages } from './event-pages';
import { LocationFigures, diffTotals, figuresAtIn, foldLocationFigures, totalsOf, type FigureTotals } from './location-fold';
import { eventTime, isWithin, type Moment } from './moments';

export const MAX_HISTORY_LIMIT = 1_000;
export const DEFAULT_HISTORY_LIMIT = 100;

export interface HistoryQuery {
  /** Only events that happened at or after this moment. */
  from?: Moment | null;
  /** Only events that happened at or before this moment. */
  to?: Moment | null;
  /** Only these event types (full type strings); all when empty. */
  types?: readonly string[] | null;
  /** Page start: the first revision to consider. */
  fromRevision?: number;
  limit?: number;
}

/** One ledger line: the event, who caused it, what it changed and where the SKU stood after it. */
export interface HistoryEntry {
  id: string;
  type: string;
  revision: number;
  position: number;
  /** When the command happened (metadata.occurredAt), else when the store recorded it. */
  occurredAt: string;
  recordedAt: string;
  actor: string | null;
  role: string | null;
  commandId: string | null;
  correlationId: string | null;
  causationId: string | null;
  data: JsonObject;
  metadata: JsonObject;
  /** What this event did to the SKU's totals. */
  change: FigureTotals;
  /** The SKU's totals right after it. */
  balance: FigureTotals;
}

export interface HistoryPage {
  sku: string;
  currentRevision: number;
  events: HistoryEntry[];
  /** Where the next page starts, null when this page reached the end of the stream. */
  nextFromRevision: number | null;
}

/**
 * A page of a SKU's ledger with running balances. Balances need every event before the page, so the
 * stream is folded from its start with the numeric fold (cheap); only matching events become entries.
 */
export async function skuHistory(
  store: EventStore,
  sku: string,
  query: HistoryQuery = {},
  { pageSize = DEFAULT_PAGE_SIZE, checkpoints }: { pageSize?: number; checkpoints?: HistoryCheckpoints } = {},
): Promise<HistoryPage> {
  const limit = Math.min(Math.max(1, query.limit ?? DEFAULT_HISTORY_LIMIT), MAX_HISTORY_LIMIT);
  const fromRevision = Math.max(0, query.fromRevision ?? 0);
  const types = query.types && query.types.length > 0 ? new Set(query.types) : null;
  const events: HistoryEntry[] = [];
  let nextFromRevision: number | null = null;
  const head = await store.readStream(skuStreamId(sku), { direction: 'backwards', maxCount: 1 });
  const currentRevision = head.currentRevision;
  if (!head.streamExists) return { sku, currentRevision: -1, events, nextFromRevision: null };
  // Resume from the figures a previous page ended with, when they are not past where this page starts.
  const resume = checkpoints?.before(sku, fromRevision);
  const locations = resume?.locations ?? new Map<string, LocationFigures>();
  const at = figuresAtIn(locations);
  let scanned = resume?.revision ?? -1;
  scan: for await (const page of streamPages(store, skuStreamId(sku), { fromRevision: scanned + 1, pageSize })) {
    for (const event of page) {
      if (event.revision > currentRevision) break scan; // appended after we looked: next page's business
      scanned = event.revision;
      const time = eventTime(event);
      const wanted = event.revision >= fromRevision && (!types || types.has(event.type)) && isWithin(time, query.from, query.to);
      if (!wanted) {
        foldLocationFigures(at, event.type, event.data);
        continue;
      }
      const before = totalsOf(locations.values());
      foldLocationFigures(at, event.type, event.data);
      const after = totalsOf(locations.values());
      events.push(entryOf(event, time, diffTotals(after, before), after));
      if (events.length === limit) {
        nextFromRevision = event.revision < currentRevision ? event.revision + 1 : null;
        break scan;
      }
    }
  }
  checkpoints?.remember(sku, scanned, locations);
  return { sku, currentRevision, events, nextFromRevision };
}

/**
 * Figures at the end of recent pages, per SKU: paging through a long ledger then costs one page per
 * request instead of a fold from the start each time. Events never change once written, so figures
 * at a revision stay true. Bounded, least recently used first out.
 */
export class HistoryCheckpoints {
  private readonly entries = new Map<string, { revision: number; locations: Map<string, LocationFigures> }>();

  constructor(private readonly maxEntries = 10_000) {}

  /** A copy of the figures after the latest remembered revision below `fromRevision`, if any. */
  before(sku: string, fromRevision: number): { revision: number; locations: Map<string, LocationFigures> } | undefined {
    const entry = this.entries.get(sku);
    if (!entry || entry.revision >= fromRevision) return undefined;
    this.entries.delete(sku);
    this.entries.set(sku, entry);
    return { revision: entry.revision, locations: copyFigures(entry.locations) };
  }

  remember(sku: string, revision: number, locations: Map<string, LocationFigures>): void {
    if (revision < 0) return;
    const known = this.entries.get(sku);
    if (known && known.revision >= revision) return;
    this.entries.delete(sku);
    this.entries.set(sku, { revision, locations: copyFigures(locations) });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }
}

function copyFigures(locations: Map<string, LocationFigures>): Map<string, LocationFigures> {
  const copy = new Map<string, LocationFigures>();
  for (const [location, figures] of locations) copy.set(location, Object.assign(new LocationFigures(), figures));
  return copy;
}

function entryOf(event: RecordedEvent, occurredAt: string, change: FigureTotals, balance: FigureTotals): HistoryEntry {
  const metadata = event.metadata ?? {};
  const text = (key: string) => (typeof metadata[key] === 'string' ? (metadata[key] as string) : null);
  return {
    id: event.id,
    type: event.type,
    revision: event.revision,
    position: event.position,
    occurredAt,
    recordedAt: event.recordedAt,
    actor: text('actor'),
    role: text('role'),
    commandId: text('commandId'),
    correlationId: text('correlationId'),
    causationId: text('causationId'),
    data: event.data,
    metadata,
    change,
    balance,
  };
}
