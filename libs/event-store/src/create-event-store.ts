import type { EventStoreConfig } from '@ledger/platform';
import { EsdbEventStore } from './esdb/esdb-event-store';
import type { EventStore } from './event-store.port';
import { SqliteEventStore } from './sqlite/sqlite-event-store';

/** The adapter the configuration names: EventStoreDB when a connection string is set, else the embedded file. */
export function createEventStore(config: EventStoreConfig): EventStore {
  switch (config.kind) {
    case 'sqlite':
      return new SqliteEventStore({ path: config.path });
    case 'esdb':
      return new EsdbEventStore({ connectionString: config.connectionString });
  }
}
