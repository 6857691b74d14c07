import type Database from 'better-sqlite3';
import { skuFromStreamId, type InventoryEvent } from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';
import { inventoryEvents } from '@ledger/ledger-model';

/**
 * A read model kept in the projections database. Its tables carry a generation suffix so a rebuild
 * can fill fresh tables while the live ones keep serving, then swap.
 */
export interface Projection {
  readonly name: string;
  /** CREATE TABLE / INDEX statements for one generation's tables. */
  schema(tables: TableNames): string;
  /** Table names this projection owns, for dropping an old generation. */
  tableNames(tables: TableNames): string[];
  /**
   * Starts applying batches into one generation. `apply` runs inside the runner's transaction, which
   * also stores the checkpoint: it must be synchronous and do all its writes through `db`.
   */
  open(db: Database.Database, tables: TableNames): ProjectionWriter;
}

export interface ProjectionWriter {
  apply(events: RecordedEvent[]): void;
  /** After the transaction committed: tell the outside world (SSE, Kafka relay) what changed. */
  afterCommit?(): void;
  /** The transaction failed: forget whatever was cached from it. */
  discard?(): void;
}

/** Resolves a projection's logical table name to the current generation's physical one. */
export type TableNames = (logical: string) => string;

export function tableNamesFor(projection: string, generation: number): TableNames {
  const prefix = projection.replace(/[^a-z0-9]/gi, '_');
  return (logical) => `${prefix}_${logical}_g${generation}`;
}

/** The occurredAt of the command behind an event, else when the store recorded it. */
export function occurredAt(event: RecordedEvent): string {
  const value = event.metadata.occurredAt;
  return typeof value === 'string' ? value : event.recordedAt;
}

/**
 * Each event of a SKU stream in the batch, read through the ledger's codec; other streams' events
 * are skipped, and so are the types not in `only` (when given) before their data is read.
 */
export function forEachSkuEvent(
  events: readonly RecordedEvent[],
  visit: (sku: string, event: InventoryEvent, recorded: RecordedEvent) => void,
  only?: ReadonlySet<InventoryEvent['type']>,
): void {
  for (const recorded of events) {
    const sku = skuFromStreamId(recorded.streamId);
    const event = sku === null ? null : inventoryEvents.decode(recorded, only);
    if (sku !== null && event) visit(sku, event, recorded);
  }
}
