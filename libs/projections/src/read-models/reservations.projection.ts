import type Database from 'better-sqlite3';
import { EventTypes, type Reservation, type ReservationStatus } from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';
import { decodeCursor, encodeCursor } from '../cursor';
import { forEachSkuEvent, occurredAt, type Projection, type ProjectionWriter, type TableNames } from '../projection';

/** A hold as the write side records it (without its internal fields), with its SKU and its times. */
export interface ReservationView extends Pick<Reservation, 'reservationId' | 'channel' | 'quantity' | 'allocations' | 'status' | 'expiresAt' | 'orderRef'> {
  sku: string;
  reservedAt: string;
  updatedAt: string;
  releaseReason: string | null;
}

const RESERVATION_EVENTS = new Set([EventTypes.StockReserved, EventTypes.ReservationCommitted, EventTypes.ReservationReleased]);

/** Every hold and where it went: held, committed, released or expired. */
export class ReservationsProjection implements Projection {
  readonly name = 'reservations';

  schema(t: TableNames): string {
    return `
      CREATE TABLE IF NOT EXISTS ${t('reservations')} (
        sku TEXT NOT NULL, reservation_id TEXT NOT NULL, channel TEXT NOT NULL, quantity INTEGER NOT NULL,
        allocations TEXT NOT NULL, status TEXT NOT NULL, expires_at TEXT NOT NULL, expires_at_ms INTEGER NOT NULL,
        order_ref TEXT, reserved_at TEXT NOT NULL, updated_at TEXT NOT NULL, release_reason TEXT,
        PRIMARY KEY (sku, reservation_id)
      );
      CREATE INDEX IF NOT EXISTS ${t('reservations_by_expiry')} ON ${t('reservations')} (status, expires_at_ms);
      CREATE INDEX IF NOT EXISTS ${t('reservations_by_channel')} ON ${t('reservations')} (channel, status);`;
  }

  tableNames(t: TableNames): string[] {
    return [t('reservations')];
  }

  open(db: Database.Database, t: TableNames): ProjectionWriter {
    const insert = db.prepare(
      `INSERT OR IGNORE INTO ${t('reservations')} (sku, reservation_id, channel, quantity, allocations, status, expires_at, expires_at_ms, order_ref, reserved_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'held', ?, ?, ?, ?, ?)`,
    );
    const finish = db.prepare(
      `UPDATE ${t('reservations')} SET status = ?, release_reason = ?, updated_at = ? WHERE sku = ? AND reservation_id = ?`,
    );
    return {
      apply(events: RecordedEvent[]) {
        forEachSkuEvent(events, (sku, event, recorded) => {
          const at = occurredAt(recorded);
          if (event.type === EventTypes.StockReserved) {
            const d = event.data;
            insert.run(sku, d.reservationId, d.channel, d.quantity, JSON.stringify(d.allocations), d.expiresAt, Date.parse(d.expiresAt), d.orderRef, at, at);
          } else if (event.type === EventTypes.ReservationCommitted) {
            finish.run('committed', null, at, sku, event.data.reservationId);
          } else if (event.type === EventTypes.ReservationReleased) {
            const status = event.data.reason === 'expired' ? 'expired' : 'released';
            finish.run(status, event.data.reason, at, sku, event.data.reservationId);
          }
        }, RESERVATION_EVENTS);
      },
    };
  }
}

export interface ReservationFilter {
  sku?: string;
  channel?: string;
  status?: ReservationStatus;
  /** Opaque cursor from the previous page. */
  cursor?: string;
  limit: number;
}

interface ReservationRow {
  sku: string;
  reservation_id: string;
  channel: string;
  quantity: number;
  allocations: string;
  status: ReservationStatus;
  expires_at: string;
  order_ref: string | null;
  reserved_at: string;
  updated_at: string;
  release_reason: string | null;
}

/** Reads of the reservations read model. */
export class ReservationsQueries {
  constructor(private readonly db: Database.Database, private readonly t: TableNames) {}

  list(filter: ReservationFilter): { items: ReservationView[]; nextCursor: string | null } {
    const [afterSku, afterId] = decodeCursor(filter.cursor, 2);
    const conditions = ['(sku, reservation_id) > (?, ?)'];
    const params: unknown[] = [afterSku, afterId];
    if (filter.sku) conditions.push('sku = ?'), params.push(filter.sku);
    if (filter.channel) conditions.push('channel = ?'), params.push(filter.channel);
    if (filter.status) conditions.push('status = ?'), params.push(filter.status);
    const rows = this.db
      .prepare(`SELECT * FROM ${this.t('reservations')} WHERE ${conditions.join(' AND ')} ORDER BY sku, reservation_id LIMIT ?`)
      .all(...params, filter.limit + 1) as ReservationRow[];
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > filter.limit && last ? encodeCursor([last.sku, last.reservation_id]) : null;
    return { items: page.map(toView), nextCursor };
  }

  /** SKUs with holds whose time is up: the sweeper's work list. */
  skusWithHoldsExpiredBy(now: number, limit: number): string[] {
    const rows = this.db
      .prepare(`SELECT DISTINCT sku FROM ${this.t('reservations')} WHERE status = 'held' AND expires_at_ms <= ? LIMIT ?`)
      .all(now, limit) as { sku: string }[];
    return rows.map((row) => row.sku);
  }

  all(): ReservationView[] {
    return (this.db.prepare(`SELECT * FROM ${this.t('reservations')} ORDER BY sku, reservation_id`).all() as ReservationRow[]).map(toView);
  }
}

function toView(row: ReservationRow): ReservationView {
  return {
    sku: row.sku,
    reservationId: row.reservation_id,
    channel: row.channel,
    quantity: row.quantity,
    allocations: JSON.parse(row.allocations),
    status: row.status,
    expiresAt: row.expires_at,
    orderRef: row.order_ref,
    reservedAt: row.reserved_at,
    updatedAt: row.updated_at,
    releaseReason: row.release_reason,
  };
}
