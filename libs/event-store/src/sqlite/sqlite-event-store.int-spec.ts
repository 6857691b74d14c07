import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEventStoreContract } from '../testing/event-store.contract';
import { SqliteEventStore } from './sqlite-event-store';

describeEventStoreContract('embedded SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-store-'));
  const path = join(dir, 'ledger.db');
  let store = new SqliteEventStore({ path, pollIntervalMs: 50 });
  return {
    store,
    async restart() {
      await store.close();
      store = new SqliteEventStore({ path, pollIntervalMs: 50 });
      return store;
    },
    async teardown() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
