import Database from 'better-sqlite3';
import { join } from 'node:path';

/**
 * The baseline: the stock counter a team would write without a ledger. One row per SKU, one SQLite
 * transaction per request, on the event store's settings (WAL, synchronous=FULL, BEGIN IMMEDIATE),
 * no history, no idempotency, no channels, no hash chain.
 */
export class BareCounter {
  private readonly db: Database.Database;
  private readonly reserveTx: (sku: string, quantity: number) => boolean;
  private readonly commitTx: (sku: string, quantity: number) => boolean;
  private readonly releaseTx: (sku: string, quantity: number) => boolean;
  private readonly receiveTx: (sku: string, quantity: number) => boolean;
  private readonly totals;

  constructor(dir: string) {
    this.db = new Database(join(dir, 'bare-counter.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec('CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, available INTEGER NOT NULL, reserved INTEGER NOT NULL)');
    const reserve = this.db.prepare('UPDATE stock SET available = available - ?, reserved = reserved + ? WHERE sku = ? AND available >= ?');
    const commit = this.db.prepare('UPDATE stock SET reserved = reserved - ? WHERE sku = ? AND reserved >= ?');
    const release = this.db.prepare('UPDATE stock SET available = available + ?, reserved = reserved - ? WHERE sku = ? AND reserved >= ?');
    const receive = this.db.prepare(
      'INSERT INTO stock (sku, available, reserved) VALUES (?, ?, 0) ON CONFLICT (sku) DO UPDATE SET available = available + excluded.available',
    );
    const immediate = <A extends unknown[]>(fn: (...args: A) => boolean) => {
      const tx = this.db.transaction(fn);
      return (...args: A) => tx.immediate(...args);
    };
    this.reserveTx = immediate((sku: string, q: number) => reserve.run(q, q, sku, q).changes === 1);
    this.commitTx = immediate((sku: string, q: number) => commit.run(q, sku, q).changes === 1);
    this.releaseTx = immediate((sku: string, q: number) => release.run(q, q, sku, q).changes === 1);
    this.receiveTx = immediate((sku: string, q: number) => receive.run(sku, q).changes === 1);
    this.totals = this.db.prepare<[], { available: number; reserved: number; negative: number }>(
      'SELECT SUM(available) AS available, SUM(reserved) AS reserved, SUM(MAX(0, -available)) AS negative FROM stock',
    );
  }

  /** Each call is one durable transaction; false: refused (not enough stock / no such hold). */
  reserve(sku: string, quantity: number): boolean {
    return this.reserveTx(sku, quantity);
  }

  commit(sku: string, quantity: number): boolean {
    return this.commitTx(sku, quantity);
  }

  release(sku: string, quantity: number): boolean {
    return this.releaseTx(sku, quantity);
  }

  receive(sku: string, quantity: number): boolean {
    return this.receiveTx(sku, quantity);
  }

  /** Units below zero across the table: the counter's oversold. */
  oversold(): number {
    return this.totals.get()?.negative ?? 0;
  }

  close(): void {
    this.db.close();
  }
}
