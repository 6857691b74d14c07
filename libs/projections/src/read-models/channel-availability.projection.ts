import type Database from 'better-sqlite3';
import {
  applyToLocations,
  emptyLocation,
  locationsTouched,
  skuFromStreamId,
  type ChannelEvent,
  type InventoryEvent,
  type LocationStock,
} from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';
import { channelEvents, inventoryEvents } from '@ledger/ledger-model';
import { occurredAt, type Projection, type ProjectionWriter, type TableNames } from '../projection';

export interface ChannelAvailability {
  sku: string;
  channel: string;
  available: number;
  /** The SKU stream revision this count reflects. */
  revision: number;
  /** The ledger position of the event that last changed the count. */
  position: number;
  updatedAt: string;
}

/** A change of one channel's count, as SSE and the Kafka relay send it. */
export type AvailabilityChange = ChannelAvailability;

interface SkuFigures {
  locations: Map<string, LocationStock>;
  channels: Map<string, ChannelAvailability>;
  revision: number;
}

const MAX_CACHED_SKUS = 100_000;

/**
 * Available per (SKU, channel) = sum over the channel's locations of on hand - reserved. Recomputed
 * when stock moves at a location the channel draws on, and for every SKU when a channel's location
 * list changes. Each change is also kept in a change log by ledger position, which the SSE stream
 * and the Kafka relay resume from.
 */
export class ChannelAvailabilityProjection implements Projection {
  readonly name = 'channel-availability';

  /** `onChanges` hears each committed batch's changes; only the live generation is given one. */
  constructor(private readonly onChanges?: (changes: AvailabilityChange[]) => void) {}

  schema(t: TableNames): string {
    return `
      CREATE TABLE IF NOT EXISTS ${t('channels')} (channel TEXT PRIMARY KEY, locations TEXT);
      CREATE TABLE IF NOT EXISTS ${t('stock')} (
        sku TEXT NOT NULL, location TEXT NOT NULL, on_hand INTEGER NOT NULL, reserved INTEGER NOT NULL,
        shortfall INTEGER NOT NULL, pending_inspection INTEGER NOT NULL, written_off INTEGER NOT NULL,
        seq INTEGER NOT NULL, PRIMARY KEY (sku, location)
      );
      CREATE TABLE IF NOT EXISTS ${t('availability')} (
        channel TEXT NOT NULL, sku TEXT NOT NULL, available INTEGER NOT NULL, revision INTEGER NOT NULL,
        position INTEGER NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (channel, sku)
      );
      CREATE INDEX IF NOT EXISTS ${t('availability_by_sku')} ON ${t('availability')} (sku);
      CREATE TABLE IF NOT EXISTS ${t('changes')} (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, position INTEGER NOT NULL, channel TEXT NOT NULL, sku TEXT NOT NULL,
        available INTEGER NOT NULL, revision INTEGER NOT NULL, updated_at TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS ${t('changes_by_position')} ON ${t('changes')} (position);`;
  }

  tableNames(t: TableNames): string[] {
    return [t('channels'), t('stock'), t('availability'), t('changes')];
  }

  open(db: Database.Database, t: TableNames): ProjectionWriter {
    return new ChannelAvailabilityWriter(db, t, this.onChanges);
  }
}

type Statements = ReturnType<typeof prepare>;

function prepare(db: Database.Database, t: TableNames) {
  return {
    channels: db.prepare<[], { channel: string; locations: string | null }>(`SELECT channel, locations FROM ${t('channels')}`),
    writeChannel: db.prepare(`INSERT INTO ${t('channels')} (channel, locations) VALUES (?, ?) ON CONFLICT (channel) DO UPDATE SET locations = excluded.locations`),
    allSkus: db.prepare<[], { sku: string }>(`SELECT DISTINCT sku FROM ${t('stock')}`),
    stock: db.prepare<[string], { location: string; on_hand: number; reserved: number; shortfall: number; pending_inspection: number; written_off: number }>(
      `SELECT location, on_hand, reserved, shortfall, pending_inspection, written_off FROM ${t('stock')} WHERE sku = ? ORDER BY seq`,
    ),
    writeStock: db.prepare(
      `INSERT INTO ${t('stock')} (sku, location, on_hand, reserved, shortfall, pending_inspection, written_off, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (sku, location) DO UPDATE SET on_hand = excluded.on_hand, reserved = excluded.reserved, shortfall = excluded.shortfall,
         pending_inspection = excluded.pending_inspection, written_off = excluded.written_off`,
    ),
    availability: db.prepare<[string], AvailabilityRow>(`SELECT * FROM ${t('availability')} WHERE sku = ?`),
    writeAvailability: db.prepare(
      `INSERT INTO ${t('availability')} (channel, sku, available, revision, position, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (channel, sku) DO UPDATE SET available = excluded.available, revision = excluded.revision,
         position = excluded.position, updated_at = excluded.updated_at`,
    ),
    writeChange: db.prepare(`INSERT INTO ${t('changes')} (position, channel, sku, available, revision, updated_at) VALUES (?, ?, ?, ?, ?, ?)`),
  };
}

/**
 * One generation's writer: figures of the SKUs seen lately stay cached between batches, and each
 * batch writes only the stock and availability rows it changed, plus its change log entries.
 */
class ChannelAvailabilityWriter implements ProjectionWriter {
  private readonly sql: Statements;
  private readonly channels = new Map<string, string[] | null>();
  private readonly skus = new Map<string, SkuFigures>();
  private readonly dirtyStock = new Map<string, Set<string>>();
  private readonly dirtyAvailability = new Map<string, Set<string> | typeof EVERY_CHANNEL>();
  private changes: AvailabilityChange[] = [];

  constructor(
    db: Database.Database,
    t: TableNames,
    private readonly onChanges?: (changes: AvailabilityChange[]) => void,
  ) {
    this.sql = prepare(db, t);
    this.loadChannels();
  }

  apply(events: RecordedEvent[]): void {
    for (const recorded of events) {
      const sku = skuFromStreamId(recorded.streamId);
      if (sku) {
        const event = inventoryEvents.decode(recorded);
        if (event) this.applyStockEvent(recorded, event, sku);
      } else {
        const event = channelEvents.decode(recorded);
        if (event) this.applyChannelEvent(recorded, event);
      }
    }
    this.flush();
  }

  afterCommit(): void {
    const committed = this.changes;
    this.changes = [];
    if (this.skus.size > MAX_CACHED_SKUS) this.skus.clear();
    if (committed.length > 0) this.onChanges?.(committed);
  }

  discard(): void {
    this.skus.clear();
    this.dirtyStock.clear();
    this.dirtyAvailability.clear();
    this.changes = [];
    this.loadChannels();
  }

  private loadChannels(): void {
    this.channels.clear();
    for (const row of this.sql.channels.all()) this.channels.set(row.channel, row.locations === null ? null : JSON.parse(row.locations));
  }

  private figuresFor(sku: string): SkuFigures {
    let figures = this.skus.get(sku);
    if (!figures) {
      const locations = new Map<string, LocationStock>();
      for (const row of this.sql.stock.all(sku)) {
        locations.set(row.location, { onHand: row.on_hand, reserved: row.reserved, shortfall: row.shortfall, pendingInspection: row.pending_inspection, writtenOff: row.written_off });
      }
      const available = new Map<string, ChannelAvailability>();
      let revision = -1;
      for (const row of this.sql.availability.all(sku)) {
        available.set(row.channel, toAvailability(row));
        revision = Math.max(revision, row.revision);
      }
      figures = { locations, channels: available, revision };
      this.skus.set(sku, figures);
    }
    return figures;
  }

  private applyStockEvent(recorded: RecordedEvent, event: InventoryEvent, sku: string): void {
    const figures = this.figuresFor(sku);
    figures.revision = recorded.revision;
    let dirtyLocations = this.dirtyStock.get(sku);
    if (!dirtyLocations) this.dirtyStock.set(sku, (dirtyLocations = new Set()));
    const marked = dirtyLocations;
    applyToLocations((location) => {
      let stock = figures.locations.get(location);
      if (!stock) figures.locations.set(location, (stock = emptyLocation()));
      marked.add(location);
      return stock;
    }, event);
    const touched = locationsTouched(event);
    for (const [channel, list] of this.channels) {
      const current = figures.channels.get(channel);
      if (list === null || !current || drawsOnAny(list, touched)) this.recompute(sku, figures, channel, recorded);
      else current.revision = figures.revision;
    }
    // Every channel of the SKU now carries this revision.
    this.dirtyAvailability.set(sku, EVERY_CHANNEL);
  }

  private applyChannelEvent(recorded: RecordedEvent, event: ChannelEvent): void {
    const { channel, locations } = event.data;
    this.channels.set(channel, locations);
    this.sql.writeChannel.run(channel, locations === null ? null : JSON.stringify(locations));
    const everySku = new Set([...this.skus.keys(), ...this.sql.allSkus.all().map((row) => row.sku)]);
    for (const sku of everySku) this.recompute(sku, this.figuresFor(sku), channel, recorded);
  }

  private recompute(sku: string, figures: SkuFigures, channel: string, recorded: RecordedEvent): void {
    const list = this.channels.get(channel);
    let available = 0;
    for (const location of list ?? figures.locations.keys()) {
      const stock = figures.locations.get(location);
      if (stock) available += stock.onHand - stock.reserved;
    }
    const current = figures.channels.get(channel);
    if (current && current.available === available) {
      // The count stands; it now reflects this revision. (Objects kept here are never handed out.)
      current.revision = figures.revision;
    } else {
      const next: ChannelAvailability = { sku, channel, available, revision: figures.revision, position: recorded.position, updatedAt: occurredAt(recorded) };
      figures.channels.set(channel, next);
      // The change log gets its own copy: the one kept here moves on with later events of the batch.
      this.changes.push({ ...next });
    }
    this.markChannel(sku, channel);
  }

  private markChannel(sku: string, channel: string): void {
    const dirty = this.dirtyAvailability.get(sku);
    if (dirty === EVERY_CHANNEL) return;
    if (dirty) dirty.add(channel);
    else this.dirtyAvailability.set(sku, new Set([channel]));
  }

  private flush(): void {
    const { sql } = this;
    for (const [sku, locations] of this.dirtyStock) {
      const figures = this.skus.get(sku) as SkuFigures;
      const order = [...figures.locations.keys()];
      for (const location of locations) {
        const s = figures.locations.get(location) as LocationStock;
        sql.writeStock.run(sku, location, s.onHand, s.reserved, s.shortfall, s.pendingInspection, s.writtenOff, order.indexOf(location));
      }
    }
    for (const [sku, channelNames] of this.dirtyAvailability) {
      const figures = this.skus.get(sku) as SkuFigures;
      if (channelNames === EVERY_CHANNEL) {
        for (const [channel, a] of figures.channels) sql.writeAvailability.run(channel, sku, a.available, a.revision, a.position, a.updatedAt);
        continue;
      }
      for (const channel of channelNames) {
        const a = figures.channels.get(channel) as ChannelAvailability;
        sql.writeAvailability.run(channel, sku, a.available, a.revision, a.position, a.updatedAt);
      }
    }
    for (const c of this.changes) sql.writeChange.run(c.position, c.channel, c.sku, c.available, c.revision, c.updatedAt);
    this.dirtyStock.clear();
    this.dirtyAvailability.clear();
  }
}

/** Marks a SKU whose every channel row must be written. */
const EVERY_CHANNEL = 'every-channel' as const;

function drawsOnAny(list: readonly string[], touched: readonly string[]): boolean {
  for (const location of touched) if (list.includes(location)) return true;
  return false;
}

interface AvailabilityRow {
  channel: string;
  sku: string;
  available: number;
  revision: number;
  position: number;
  updated_at: string;
}

/** Reads of the channel-availability read model. */
export class ChannelAvailabilityQueries {
  constructor(private readonly db: Database.Database, private readonly t: TableNames) {}

  forSku(sku: string): ChannelAvailability[] {
    const rows = this.db.prepare(`SELECT * FROM ${this.t('availability')} WHERE sku = ? ORDER BY channel`).all(sku) as AvailabilityRow[];
    return rows.map(toAvailability);
  }

  /** One channel's counts by SKU after `cursor`: a connector's full resync. */
  forChannel(channel: string, cursor: string, limit: number): ChannelAvailability[] {
    const rows = this.db
      .prepare(`SELECT * FROM ${this.t('availability')} WHERE channel = ? AND sku > ? ORDER BY sku LIMIT ?`)
      .all(channel, cursor, limit) as AvailabilityRow[];
    return rows.map(toAvailability);
  }

  /** Changes after a ledger position, in order; null when pruning already removed some of them. */
  changesAfter(position: number): Iterable<AvailabilityChange> | null {
    const pruned = this.db.prepare('SELECT value FROM projection_meta WHERE key = ?').get(this.prunedKey()) as { value: number } | undefined;
    if (pruned && position < pruned.value) return null;
    // Changes are written in ledger order, so (position, seq) is seq order; said this way the query
    // walks the position index from `position` on instead of scanning the whole log for each read.
    const rows = this.db.prepare(`SELECT * FROM ${this.t('changes')} WHERE position > ? ORDER BY position, seq`).iterate(position) as Iterable<AvailabilityRow>;
    return mapIterable(rows, toAvailability);
  }

  /** The position of the newest change, null before the first. */
  lastChangePosition(): number | null {
    return (this.db.prepare(`SELECT MAX(position) AS position FROM ${this.t('changes')}`).get() as { position: number | null }).position;
  }

  /** Keeps the newest `keep` changes; remembers how far it cut so resumes from before it can tell. */
  pruneChanges(keep: number): void {
    const cut = this.db.prepare(`SELECT seq, position FROM ${this.t('changes')} ORDER BY seq DESC LIMIT 1 OFFSET ?`).get(keep) as
      | { seq: number; position: number }
      | undefined;
    if (!cut) return;
    this.db.transaction(() => {
      this.db.prepare(`DELETE FROM ${this.t('changes')} WHERE seq <= ?`).run(cut.seq);
      this.db
        .prepare('INSERT INTO projection_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)')
        .run(this.prunedKey(), cut.position);
    })();
  }

  private prunedKey(): string {
    return `${this.t('changes')}:pruned_through`;
  }

  all(): ChannelAvailability[] {
    return (this.db.prepare(`SELECT * FROM ${this.t('availability')} ORDER BY channel, sku`).all() as AvailabilityRow[]).map(toAvailability);
  }
}

function* mapIterable<A, B>(items: Iterable<A>, map: (item: A) => B): Iterable<B> {
  for (const item of items) yield map(item);
}

function toAvailability(row: AvailabilityRow): ChannelAvailability {
  return { sku: row.sku, channel: row.channel, available: row.available, revision: row.revision, position: row.position, updatedAt: row.updated_at };
}
