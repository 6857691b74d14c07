import { skuFromStreamId, type StockTotals } from '@ledger/domain';
import type { EventStore } from '@ledger/event-store';
import { DEFAULT_PAGE_SIZE, allPages, type ProgressListener } from './event-pages';
import { LocationFigures, foldLocationFigures, type FiguresAt } from './location-fold';
import { eventTime, isAtOrBefore, type Moment } from './moments';

/** One (SKU, location)'s figures as of a moment. */
export interface StockRow extends StockTotals {
  sku: string;
  location: string;
}

export const STOCK_COLUMNS: readonly (keyof StockRow)[] = ['sku', 'location', 'onHand', 'reserved', 'available', 'pendingInspection', 'shortfall', 'writtenOff'];

export interface StockReportOptions {
  /** As of this moment; now when absent. */
  at?: Moment | null;
  /** Only this location. */
  location?: string | null;
  pageSize?: number;
  onProgress?: ProgressListener;
}

/** Per SKU: numbers by location and whether its history already passed the moment. */
class SkuFigures {
  passed = false;
  readonly locations = new Map<string, LocationFigures>();
  readonly at: FiguresAt;

  constructor(only: string | null, scratch: LocationFigures) {
    const locations = this.locations;
    this.at = (location) => {
      // Figures of a location depend only on events naming it: others can be folded into scratch.
      if (only !== null && location !== only) return scratch;
      let figures = locations.get(location);
      if (figures === undefined) {
        figures = new LocationFigures();
        locations.set(location, figures);
      }
      return figures;
    };
  }
}

/**
 * Stock of every SKU (optionally one location) as of a moment, as rows sorted by SKU and location.
 * One pass over the global log in big pages keeping only numbers per (SKU, location): memory grows
 * with SKUs and locations, never with events or reservations. Rows come once the pass is done.
 */
export async function* stockAsOf(store: EventStore, options: StockReportOptions = {}): AsyncGenerator<StockRow> {
  const at = options.at ?? null;
  const only = options.location ?? null;
  const scratch = new LocationFigures();
  const skus = new Map<string, SkuFigures>();
  const started = Date.now();
  const head = options.onProgress ? await store.headPosition() : null;
  let seen = 0;
  for await (const page of allPages(store, { pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE })) {
    for (let i = 0; i < page.length; i++) {
      const event = page[i];
      let figures = skus.get(event.streamId);
      if (figures === undefined) {
        if (skuFromStreamId(event.streamId) === null) continue;
        figures = new SkuFigures(only, scratch);
        skus.set(event.streamId, figures);
      }
      if (figures.passed) continue;
      if (at !== null && !isAtOrBefore(eventTime(event), at)) {
        figures.passed = true;
        continue;
      }
      foldLocationFigures(figures.at, event.type, event.data);
    }
    seen += page.length;
    options.onProgress?.({ events: seen, position: page[page.length - 1].position, head, elapsedMs: Date.now() - started });
  }
  const streamIds = [...skus.keys()].sort(compareText);
  for (const streamId of streamIds) {
    const { locations } = skus.get(streamId) as SkuFigures;
    const sku = skuFromStreamId(streamId) as string;
    for (const location of [...locations.keys()].sort(compareText)) {
      const f = locations.get(location) as LocationFigures;
      yield {
        sku,
        location,
        onHand: f.onHand,
        reserved: f.reserved,
        available: f.onHand - f.reserved,
        pendingInspection: f.pendingInspection,
        shortfall: f.shortfall,
        writtenOff: f.writtenOff,
      };
    }
  }
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break; a leading = + - @ is defused for spreadsheets. */
export function csvField(value: string | number): string {
  if (typeof value === 'number') return String(value);
  let text = value;
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(values: readonly (string | number)[]): string {
  return `${values.map(csvField).join(',')}\n`;
}

/** Rows as CSV lines, header first. */
export async function* stockCsv(rows: AsyncIterable<StockRow>): AsyncGenerator<string> {
  yield csvLine(STOCK_COLUMNS as string[]);
  for await (const row of rows) yield csvLine(STOCK_COLUMNS.map((column) => row[column]));
}

/** Rows as JSON lines (one object per line). */
export async function* stockJsonLines(rows: AsyncIterable<StockRow>): AsyncGenerator<string> {
  for await (const row of rows) yield `${JSON.stringify(row)}\n`;
}

/** Joins small strings into chunks of about `size` characters, so writers make few large writes. */
export async function* chunked(lines: AsyncIterable<string>, size = 64 * 1024): AsyncGenerator<string> {
  let buffer: string[] = [];
  let length = 0;
  for await (const line of lines) {
    buffer.push(line);
    length += line.length;
    if (length >= size) {
      yield buffer.join('');
      buffer = [];
      length = 0;
    }
  }
  if (buffer.length > 0) yield buffer.join('');
}
