import type Database from 'better-sqlite3';
import { applyToLocations, emptyLocation, type LocationStock, type StockTotals } from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';
import { forEachSkuEvent, occurredAt, type Projection, type ProjectionWriter, type TableNames } from '../projection';

/** One (SKU, location)'s figures, the revision of the SKU they reflect and when they last moved. */
export interface LocationStockRow extends StockTotals {
  sku: string;
  location: string;
  revision: number;
  updatedAt: string;
}

interface CachedFigures extends LocationStock {
  revision: number;
  updatedAt: string;
}

const MAX_CACHED_ROWS = 200_000;

/** Stock per (location, SKU) across the catalogue: ops lists and low-stock views. */
export class LocationStockProjection implements Projection {
  readonly name = 'location-stock';

  schema(t: TableNames): string {
    return `
      CREATE TABLE IF NOT EXISTS ${t('stock')} (
        location TEXT NOT NULL, sku TEXT NOT NULL,
        on_hand INTEGER NOT NULL, reserved INTEGER NOT NULL, available INTEGER NOT NULL,
        pending_inspection INTEGER NOT NULL, shortfall INTEGER NOT NULL, written_off INTEGER NOT NULL,
        revision INTEGER NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (location, sku)
      );
      CREATE INDEX IF NOT EXISTS ${t('stock_by_available')} ON ${t('stock')} (location, available);`;
  }

  tableNames(t: TableNames): string[] {
    return [t('stock')];
  }

  open(db: Database.Database, t: TableNames): ProjectionWriter {
    const read = db.prepare<[string, string], { on_hand: number; reserved: number; pending_inspection: number; shortfall: number; written_off: number; revision: number; updated_at: string }>(
      `SELECT on_hand, reserved, pending_inspection, shortfall, written_off, revision, updated_at FROM ${t('stock')} WHERE location = ? AND sku = ?`,
    );
    const write = db.prepare(
      `INSERT INTO ${t('stock')} (location, sku, on_hand, reserved, available, pending_inspection, shortfall, written_off, revision, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (location, sku) DO UPDATE SET on_hand = excluded.on_hand, reserved = excluded.reserved,
         available = excluded.available, pending_inspection = excluded.pending_inspection, shortfall = excluded.shortfall,
         written_off = excluded.written_off, revision = excluded.revision, updated_at = excluded.updated_at`,
    );
    const cache = new Map<string, CachedFigures>();
    const dirty = new Map<string, { sku: string; location: string; figures: CachedFigures }>();
    const figuresFor = (sku: string, location: string): CachedFigures => {
      const key = `${sku}\u0000${location}`;
      let figures = cache.get(key);
      if (!figures) {
        const row = read.get(location, sku);
        figures = row
          ? { onHand: row.on_hand, reserved: row.reserved, pendingInspection: row.pending_inspection, shortfall: row.shortfall, writtenOff: row.written_off, revision: row.revision, updatedAt: row.updated_at }
          : { ...emptyLocation(), revision: -1, updatedAt: '' };
        cache.set(key, figures);
      }
      if (!dirty.has(key)) dirty.set(key, { sku, location, figures });
      return figures;
    };
    return {
      apply(events: RecordedEvent[]) {
        forEachSkuEvent(events, (sku, event, recorded) => {
          const touched: CachedFigures[] = [];
          applyToLocations((location) => {
            const figures = figuresFor(sku, location);
            touched.push(figures);
            return figures;
          }, event);
          for (const figures of touched) {
            figures.revision = recorded.revision;
            figures.updatedAt = occurredAt(recorded);
          }
        });
        for (const { sku, location, figures: f } of dirty.values()) {
          write.run(location, sku, f.onHand, f.reserved, f.onHand - f.reserved, f.pendingInspection, f.shortfall, f.writtenOff, f.revision, f.updatedAt);
        }
        dirty.clear();
      },
      afterCommit() {
        if (cache.size > MAX_CACHED_ROWS) cache.clear();
      },
      discard() {
        cache.clear();
        dirty.clear();
      },
    };
  }
}

/** Reads of the location-stock read model. */
export class LocationStockQueries {
  constructor(private readonly db: Database.Database, private readonly t: TableNames) {}

  /** One location's SKUs, by SKU, paged; `maxAvailable` narrows to a low-stock view. */
  forLocation(location: string, options: { cursor?: string; limit: number; maxAvailable?: number }): LocationStockRow[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM ${this.t('stock')} WHERE location = ? AND sku > ? AND available <= ? ORDER BY sku LIMIT ?`,
      )
      .all(location, options.cursor ?? '', options.maxAvailable ?? Number.MAX_SAFE_INTEGER, options.limit) as StockRow[];
    return rows.map(toRow);
  }

  all(): LocationStockRow[] {
    return (this.db.prepare(`SELECT * FROM ${this.t('stock')} ORDER BY location, sku`).all() as StockRow[]).map(toRow);
  }
}

interface StockRow {
  location: string;
  sku: string;
  on_hand: number;
  reserved: number;
  available: number;
  pending_inspection: number;
  shortfall: number;
  written_off: number;
  revision: number;
  updated_at: string;
}

function toRow(row: StockRow): LocationStockRow {
  return {
    sku: row.sku,
    location: row.location,
    onHand: row.on_hand,
    reserved: row.reserved,
    available: row.available,
    pendingInspection: row.pending_inspection,
    shortfall: row.shortfall,
    writtenOff: row.written_off,
    revision: row.revision,
    updatedAt: row.updated_at,
  };
}
