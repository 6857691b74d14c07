import { randomUUID } from 'node:crypto';
import { SqliteEventStore } from '@ledger/event-store';
import type Database from 'better-sqlite3';
import type { Projection, TableNames } from './projection';
import { ProjectionRunner } from './projection-runner';
import { openReadModelDb } from './read-model-db';

/** Counts events per stream; fails once on the event tagged `poison`. */
class CountingProjection implements Projection {
  readonly name = 'counting';
  failuresLeft = 1;

  schema(t: TableNames) {
    return `CREATE TABLE IF NOT EXISTS ${t('counts')} (stream_id TEXT PRIMARY KEY, applied INTEGER NOT NULL)`;
  }

  tableNames(t: TableNames) {
    return [t('counts')];
  }

  open(db: Database.Database, t: TableNames) {
    const bump = db.prepare(`INSERT INTO ${t('counts')} VALUES (?, 1) ON CONFLICT (stream_id) DO UPDATE SET applied = applied + 1`);
    return {
      apply: (events: { streamId: string; data: Record<string, unknown> }[]) => {
        for (const event of events) {
          bump.run(event.streamId);
          if (event.data.poison && this.failuresLeft-- > 0) throw new Error('projection handler broke');
        }
      },
    };
  }
}

const append = (store: SqliteEventStore, stream: string, data: Record<string, unknown>) =>
  store.appendToStream(stream, [{ id: randomUUID(), type: 'inventory.test.v1', data }], { expectedRevision: 'any' });

describe('ProjectionRunner', () => {
  it('stops on a failing batch, keeps nothing of it, and resumes from its checkpoint without skipping', async () => {
    const store = new SqliteEventStore({ path: ':memory:', pollIntervalMs: 20 });
    const db = openReadModelDb(':memory:');
    const projection = new CountingProjection();
    const failed: unknown[] = [];
    const runner = new ProjectionRunner(projection, 1, db, store, { onFailed: (_, error) => failed.push(error) }, 2);
    for (let i = 0; i < 5; i++) await append(store, 'inventory-a', { i, poison: i === 3 });
    runner.start();
    const head = (await store.headPosition()) as number;
    expect(await runner.waitForPosition(head, 5_000)).toBe(true);
    expect(failed).toHaveLength(1);
    const counts = db.prepare('SELECT applied FROM counting_counts_g1 WHERE stream_id = ?').get('inventory-a') as { applied: number };
    expect(counts.applied).toBe(5);
    expect(runner.status()).toMatchObject({ checkpoint: head, lastError: null });
    await runner.stop();
    await store.close();
  });

  it('skips events at or below a stream revision it already applied', async () => {
    const store = new SqliteEventStore({ path: ':memory:', pollIntervalMs: 20 });
    const db = openReadModelDb(':memory:');
    for (let i = 0; i < 3; i++) await append(store, 'inventory-b', { i });
    db.exec(new CountingProjection().schema((name) => `counting_${name}_g1`));
    db.prepare('INSERT INTO projection_stream_revisions VALUES (?, ?, ?, ?)').run('counting', 1, 'inventory-b', 1);
    const runner = new ProjectionRunner(new CountingProjection(), 1, db, store);
    runner.start();
    expect(await runner.waitForPosition((await store.headPosition()) as number, 5_000)).toBe(true);
    expect(db.prepare('SELECT applied FROM counting_counts_g1').get()).toEqual({ applied: 1 });
    await runner.stop();
    await store.close();
  });
});
