import type Database from 'better-sqlite3';
import { EventTypes, type ReturnRecord, type ReturnStatus } from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';
import { decodeCursor, encodeCursor } from '../cursor';
import { forEachSkuEvent, occurredAt, type Projection, type ProjectionWriter, type TableNames } from '../projection';

/** A return as the write side records it, with its SKU and when it was received and inspected. */
export interface ReturnView extends ReturnRecord {
  sku: string;
  receivedAt: string;
  inspectedAt: string | null;
}

const RETURN_EVENTS = new Set([EventTypes.ReturnReceived, EventTypes.ReturnInspected]);

/** Returns (RTO) and their inspection: units waiting on a shelf are money the seller cannot sell. */
export class ReturnsProjection implements Projection {
  readonly name = 'returns';

  schema(t: TableNames): string {
    return `
      CREATE TABLE IF NOT EXISTS ${t('returns')} (
        sku TEXT NOT NULL, return_id TEXT NOT NULL, location TEXT NOT NULL, quantity INTEGER NOT NULL,
        order_ref TEXT, channel TEXT, status TEXT NOT NULL, received_at TEXT NOT NULL, inspected_at TEXT,
        restock_quantity INTEGER, write_off_quantity INTEGER,
        PRIMARY KEY (sku, return_id)
      );
      CREATE INDEX IF NOT EXISTS ${t('returns_by_status')} ON ${t('returns')} (status, received_at);`;
  }

  tableNames(t: TableNames): string[] {
    return [t('returns')];
  }

  open(db: Database.Database, t: TableNames): ProjectionWriter {
    const insert = db.prepare(
      `INSERT OR IGNORE INTO ${t('returns')} (sku, return_id, location, quantity, order_ref, channel, status, received_at)
       VALUES (?, ?, ?, ?, ?, ?, 'pending_inspection', ?)`,
    );
    const inspect = db.prepare(
      `UPDATE ${t('returns')} SET status = 'inspected', inspected_at = ?, restock_quantity = ?, write_off_quantity = ? WHERE sku = ? AND return_id = ?`,
    );
    return {
      apply(events: RecordedEvent[]) {
        forEachSkuEvent(events, (sku, event, recorded) => {
          if (event.type === EventTypes.ReturnReceived) {
            const d = event.data;
            insert.run(sku, d.returnId, d.location, d.quantity, d.orderRef, d.channel, occurredAt(recorded));
          } else if (event.type === EventTypes.ReturnInspected) {
            const d = event.data;
            inspect.run(occurredAt(recorded), d.restockQuantity, d.writeOffQuantity, sku, d.returnId);
          }
        }, RETURN_EVENTS);
      },
    };
  }
}

interface ReturnRow {
  sku: string;
  return_id: string;
  location: string;
  quantity: number;
  order_ref: string | null;
  channel: string | null;
  status: ReturnStatus;
  received_at: string;
  inspected_at: string | null;
  restock_quantity: number | null;
  write_off_quantity: number | null;
}

/** Reads of the returns read model. */
export class ReturnsQueries {
  constructor(private readonly db: Database.Database, private readonly t: TableNames) {}

  list(filter: { status?: ReturnStatus; sku?: string; cursor?: string; limit: number }): { items: ReturnView[]; nextCursor: string | null } {
    const after = decodeCursor(filter.cursor, 3);
    const conditions = ['(received_at, sku, return_id) > (?, ?, ?)'];
    const params: unknown[] = [...after];
    if (filter.status) conditions.push('status = ?'), params.push(filter.status);
    if (filter.sku) conditions.push('sku = ?'), params.push(filter.sku);
    const rows = this.db
      .prepare(`SELECT * FROM ${this.t('returns')} WHERE ${conditions.join(' AND ')} ORDER BY received_at, sku, return_id LIMIT ?`)
      .all(...params, filter.limit + 1) as ReturnRow[];
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > filter.limit && last ? encodeCursor([last.received_at, last.sku, last.return_id]) : null;
    return { items: page.map(toView), nextCursor };
  }

  /** Units waiting for inspection and when the oldest of them arrived. */
  pending(): { units: number; oldestReceivedAt: string | null } {
    const row = this.db
      .prepare(`SELECT COALESCE(SUM(quantity), 0) AS units, MIN(received_at) AS oldest FROM ${this.t('returns')} WHERE status = 'pending_inspection'`)
      .get() as { units: number; oldest: string | null };
    return { units: row.units, oldestReceivedAt: row.oldest };
  }

  all(): ReturnView[] {
    return (this.db.prepare(`SELECT * FROM ${this.t('returns')} ORDER BY sku, return_id`).all() as ReturnRow[]).map(toView);
  }
}

function toView(row: ReturnRow): ReturnView {
  return {
    sku: row.sku,
    returnId: row.return_id,
    location: row.location,
    quantity: row.quantity,
    orderRef: row.order_ref,
    channel: row.channel,
    status: row.status,
    receivedAt: row.received_at,
    inspectedAt: row.inspected_at,
    restockQuantity: row.restock_quantity,
    writeOffQuantity: row.write_off_quantity,
  };
}
