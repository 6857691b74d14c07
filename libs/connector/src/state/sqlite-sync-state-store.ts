import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AvailabilityVersion } from '../revision-rule';
import type { AppliedAvailability, OrderRecord, SkuSyncState, SyncStateStore } from './sync-state-store';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sku_state (
  sku TEXT PRIMARY KEY,
  desired_available INTEGER NOT NULL, desired_revision INTEGER NOT NULL, desired_position INTEGER NOT NULL, received_at INTEGER NOT NULL,
  applied_available INTEGER, applied_revision INTEGER, applied_position INTEGER, applied_at INTEGER,
  shown INTEGER, status TEXT NOT NULL, last_error TEXT, drift_since INTEGER
);
CREATE INDEX IF NOT EXISTS sku_state_pending ON sku_state(status) WHERE status = 'pending';
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen_keys (key TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS orders (order_id TEXT PRIMARY KEY, status TEXT NOT NULL, lines TEXT NOT NULL, refunded TEXT NOT NULL, updated_at INTEGER NOT NULL);
`;

interface Row {
  sku: string;
  desired_available: number;
  desired_revision: number;
  desired_position: number;
  received_at: number;
  applied_available: number | null;
  applied_revision: number | null;
  applied_position: number | null;
  applied_at: number | null;
  shown: number | null;
  status: SkuSyncState['status'];
  last_error: string | null;
  drift_since: number | null;
}

function fromRow(row: Row): SkuSyncState {
  return {
    sku: row.sku,
    desired: { available: row.desired_available, revision: row.desired_revision, position: row.desired_position, receivedAt: row.received_at },
    applied:
      row.applied_available === null
        ? null
        : { available: row.applied_available, revision: row.applied_revision as number, position: row.applied_position as number, at: row.applied_at as number },
    shown: row.shown,
    status: row.status,
    lastError: row.last_error,
    driftSince: row.drift_since,
  };
}

/**
 * The connector's state in one SQLite file (WAL, synchronous=NORMAL: a crash of the process loses
 * nothing that was written; a power cut may lose the last moments, which the source replays because
 * its cursor is written in the same transaction as the counts).
 */
export class SqliteSyncStateStore implements SyncStateStore {
  private readonly db: Database.Database;
  private readonly statements;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.statements = {
      get: this.db.prepare('SELECT * FROM sku_state WHERE sku = ?'),
      offer: this.db.prepare(`INSERT INTO sku_state (sku, desired_available, desired_revision, desired_position, received_at, status)
        VALUES (@sku, @available, @revision, @position, @receivedAt, 'pending')
        ON CONFLICT(sku) DO UPDATE SET desired_available = excluded.desired_available, desired_revision = excluded.desired_revision,
          desired_position = excluded.desired_position, received_at = excluded.received_at, status = 'pending', last_error = NULL`),
      pushed: this.db.prepare(`UPDATE sku_state SET applied_available = @available, applied_revision = @revision, applied_position = @position,
          applied_at = @at, shown = @shown, drift_since = NULL, last_error = NULL,
          status = CASE WHEN desired_revision = @revision AND desired_position = @position THEN @status ELSE 'pending' END
        WHERE sku = @sku`),
      rejected: this.db.prepare(`UPDATE sku_state SET last_error = @reason,
          status = CASE WHEN desired_revision = @revision AND desired_position = @position THEN 'rejected' ELSE 'pending' END WHERE sku = @sku`),
      pending: this.db.prepare(`UPDATE sku_state SET status = 'pending', last_error = ? WHERE sku = ?`),
      shown: this.db.prepare('UPDATE sku_state SET shown = ? WHERE sku = ?'),
      drift: this.db.prepare('UPDATE sku_state SET drift_since = ? WHERE sku = ?'),
      allPending: this.db.prepare(`SELECT * FROM sku_state WHERE status = 'pending' ORDER BY received_at`),
      all: this.db.prepare('SELECT * FROM sku_state ORDER BY sku'),
      cursor: this.db.prepare('SELECT value FROM cursors WHERE name = ?'),
      setCursor: this.db.prepare('INSERT INTO cursors (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value'),
      remember: this.db.prepare('INSERT OR IGNORE INTO seen_keys (key, at) VALUES (?, ?)'),
      seen: this.db.prepare('SELECT 1 FROM seen_keys WHERE key = ?'),
      order: this.db.prepare('SELECT * FROM orders WHERE order_id = ?'),
      saveOrder: this.db.prepare(`INSERT INTO orders (order_id, status, lines, refunded, updated_at) VALUES (@orderId, @status, @lines, @refunded, @updatedAt)
        ON CONFLICT(order_id) DO UPDATE SET status = excluded.status, lines = excluded.lines, refunded = excluded.refunded, updated_at = excluded.updated_at`),
    };
  }

  private readonly offerMany = (updates: Parameters<SyncStateStore['offer']>[0], cursor?: { name: string; value: string }) =>
    this.db.transaction(() => {
      for (const update of updates) this.statements.offer.run(update);
      if (cursor) this.statements.setCursor.run(cursor.name, cursor.value);
    })();

  get(sku: string): AppliedAvailability | undefined {
    const applied = this.state(sku)?.applied;
    return applied ? { available: applied.available, revision: applied.revision, position: applied.position } : undefined;
  }

  state(sku: string): SkuSyncState | undefined {
    const row = this.statements.get.get(sku) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  offer(updates: Parameters<SyncStateStore['offer']>[0], cursor?: { name: string; value: string }): void {
    this.offerMany(updates, cursor);
  }

  markPushed(sku: string, pushed: AppliedAvailability, shown: number, status: 'synced' | 'accepted', at: number): void {
    this.statements.pushed.run({ sku, available: pushed.available, revision: pushed.revision, position: pushed.position, at, shown, status });
  }

  markRejected(sku: string, version: AvailabilityVersion, reason: string): void {
    this.statements.rejected.run({ sku, revision: version.revision, position: version.position, reason });
  }

  markPending(sku: string, reason: string | null): void {
    this.statements.pending.run(reason, sku);
  }

  setShown(sku: string, shown: number | null): void {
    this.statements.shown.run(shown, sku);
  }

  setDriftSince(sku: string, since: number | null): void {
    this.statements.drift.run(since, sku);
  }

  pending(): SkuSyncState[] {
    return (this.statements.allPending.all() as Row[]).map(fromRow);
  }

  all(): SkuSyncState[] {
    return (this.statements.all.all() as Row[]).map(fromRow);
  }

  cursor(name: string): string | null {
    return (this.statements.cursor.get(name) as { value: string } | undefined)?.value ?? null;
  }

  setCursor(name: string, value: string): void {
    this.statements.setCursor.run(name, value);
  }

  remember(key: string, at: number): boolean {
    return this.statements.remember.run(key, at).changes === 1;
  }

  seen(key: string): boolean {
    return this.statements.seen.get(key) !== undefined;
  }

  order(orderId: string): OrderRecord | undefined {
    const row = this.statements.order.get(orderId) as { order_id: string; status: OrderRecord['status']; lines: string; refunded: string; updated_at: number } | undefined;
    return row ? { orderId: row.order_id, status: row.status, lines: JSON.parse(row.lines), refunded: JSON.parse(row.refunded), updatedAt: row.updated_at } : undefined;
  }

  saveOrder(order: OrderRecord): void {
    this.statements.saveOrder.run({ ...order, lines: JSON.stringify(order.lines), refunded: JSON.stringify(order.refunded) });
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
