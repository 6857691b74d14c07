import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The projections' own SQLite file. Read models can always be rebuilt from the ledger, so they trade
 * a little durability for speed (synchronous=NORMAL): after a power cut the checkpoint rolls back
 * together with the read model it describes, and the runner simply applies those events again.
 */
export function openReadModelDb(path: string): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(`
    CREATE TABLE IF NOT EXISTS projection_checkpoints (
      name       TEXT    NOT NULL,
      generation INTEGER NOT NULL,
      position   INTEGER,
      active     INTEGER NOT NULL DEFAULT 0,
      updated_at TEXT    NOT NULL,
      PRIMARY KEY (name, generation)
    );
    CREATE TABLE IF NOT EXISTS projection_stream_revisions (
      name       TEXT    NOT NULL,
      generation INTEGER NOT NULL,
      stream_id  TEXT    NOT NULL,
      revision   INTEGER NOT NULL,
      PRIMARY KEY (name, generation, stream_id)
    );
    CREATE TABLE IF NOT EXISTS projection_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
  `);
  return db;
}
