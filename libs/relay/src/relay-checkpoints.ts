import type Database from 'better-sqlite3';

/**
 * Where each relay has got to, by ledger POSITION (never by a change-log row number: a rebuilt
 * availability projection writes its change log again under new row numbers but the same positions).
 * Kept in projections.db, beside the read models it relays from, in table `relay_checkpoints`.
 *
 * A relay stores its checkpoint only after the bus acknowledged everything up to it, so a crash
 * between the two sends that stretch again: duplicates, never gaps.
 */
export class RelayCheckpointStore {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS relay_checkpoints (
        name       TEXT    PRIMARY KEY,
        position   INTEGER NOT NULL,
        updated_at TEXT    NOT NULL
      );
    `);
    this.statements = {
      load: db.prepare<[string], { position: number }>('SELECT position FROM relay_checkpoints WHERE name = ?'),
      save: db.prepare(
        `INSERT INTO relay_checkpoints (name, position, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
      ),
      remove: db.prepare('DELETE FROM relay_checkpoints WHERE name = ?'),
    };
  }

  /** The last position relayed, null when the relay has never stored one (start from the beginning). */
  load(name: string): number | null {
    return this.statements.load.get(name)?.position ?? null;
  }

  save(name: string, position: number): void {
    if (!this.db.open) throw new Error('the projections database is closed');
    this.statements.save.run(name, position, new Date().toISOString());
  }

  /** Forgets a relay's checkpoint: it starts from the beginning next time (an operator's full replay). */
  reset(name: string): void {
    this.statements.remove.run(name);
  }
}
