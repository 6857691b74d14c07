import { mkdirSync } from 'node:fs';
import { SkuLedger } from '@ledger/core';
import { createEventStore, type EventStore } from '@ledger/event-store';
import { MetricsService, loadConfig } from '@ledger/platform';

/**
 * The write side alone: SkuLedger on the configured store (the embedded one unless
 * EVENTSTORE_CONNECTION_STRING is set), without the app around it (no CommandBus, handlers,
 * projections or relays sharing the event loop). Its figures say what the decide / hash /
 * group-commit path costs by itself.
 */
export function coreLedger(dir: string, env: Record<string, string>): { ledger: SkuLedger; store: EventStore; close(): Promise<void> } {
  mkdirSync(dir, { recursive: true });
  const store = createEventStore(loadConfig({ LEDGER_DATA_DIR: dir, LOG_LEVEL: 'error', ...env }).eventStore);
  const ledger = new SkuLedger(store, new MetricsService());
  return { ledger, store, close: () => store.close() };
}
