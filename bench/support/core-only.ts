import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SkuLedger } from '@ledger/core';
import { SqliteEventStore } from '@ledger/event-store';
import { MetricsService } from '@ledger/platform';

/**
 * The write side alone: SkuLedger on the embedded store, without the app around it (no CommandBus,
 * handlers, projections or relays sharing the event loop). Its figures say what the decide / hash /
 * group-commit path costs by itself.
 */
export function coreLedger(dir: string): { ledger: SkuLedger; store: SqliteEventStore; close(): Promise<void> } {
  mkdirSync(dir, { recursive: true });
  const store = new SqliteEventStore({ path: join(dir, 'core-ledger.db') });
  const ledger = new SkuLedger(store, new MetricsService());
  return { ledger, store, close: () => store.close() };
}
