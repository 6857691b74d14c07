import { ADJUSTMENT_REASONS, EventTypes, type ChannelEvent, type InventoryEvent } from '@ledger/domain';
import type { JsonObject, RecordedEvent } from '@ledger/event-store';

/** What one field of an event's data must hold; a list names the only strings allowed. */
export type FieldKind = 'string' | 'string?' | 'integer' | 'allocations' | 'strings' | 'strings?' | readonly string[];

/** One stored version of an event type: its data's shape, and how to lift it to the next version. */
export interface EventVersion {
  fields: Record<string, FieldKind>;
  /** The data as the next version has it; absent on the newest version. */
  upcast?(data: JsonObject): JsonObject;
}

/** An event type across its versions: `name` + `.v<n>` is the stored type string. */
export interface EventDefinition {
  name: string;
  versions: Record<number, EventVersion>;
}

/** A stored event that claims to be the ledger's but cannot be read as such: never skipped silently. */
export class UnreadableEventError extends Error {
  constructor(readonly event: Pick<RecordedEvent, 'streamId' | 'revision' | 'type'>, reason: string) {
    super(`event ${event.type} at ${event.streamId}@${event.revision} cannot be read: ${reason}`);
    this.name = 'UnreadableEventError';
  }
}

interface Reader {
  version: number;
  /** The newest version's type string, which the domain knows. */
  latestType: string;
  definition: EventDefinition;
}

/**
 * The one reading of stored events: type string -> version -> shape check -> (upcast to the newest
 * version) -> domain event. Every reader (the write side's load, projections, auditors, relays) goes
 * through it, so a stored event the code cannot understand fails loudly in one place.
 */
export class EventCodec<Event extends { type: string; data: object }> {
  private readonly readers = new Map<string, Reader>();
  private readonly names = new Set<string>();

  constructor(readonly prefix: string, definitions: readonly EventDefinition[]) {
    for (const definition of definitions) {
      const versions = Object.keys(definition.versions).map(Number).sort((a, b) => a - b);
      const latest = versions[versions.length - 1];
      this.names.add(definition.name);
      for (const version of versions) {
        this.readers.set(`${definition.name}.v${version}`, { version, latestType: `${definition.name}.v${latest}`, definition });
      }
    }
  }

  /**
   * The domain event a stored one holds, or null when its type is none of this codec's (another
   * kind of stream's event). Throws UnreadableEventError for a known type of an unknown version or
   * with data of the wrong shape.
   */
  decode(recorded: Pick<RecordedEvent, 'streamId' | 'revision' | 'type' | 'data'>): Event | null {
    const reader = this.readers.get(recorded.type);
    if (!reader) {
      if (!recorded.type.startsWith(this.prefix)) return null;
      const name = recorded.type.replace(/\.v\d+$/, '');
      if (this.names.has(name)) throw new UnreadableEventError(recorded, 'a version this code does not know (written by a newer release?)');
      return null;
    }
    let version = reader.version;
    let data = recorded.data;
    for (;;) {
      const spec = reader.definition.versions[version];
      const problem = shapeProblem(spec.fields, data);
      if (problem) throw new UnreadableEventError(recorded, problem);
      if (!spec.upcast) break;
      data = spec.upcast(data);
      version = nextVersion(reader.definition, version);
    }
    // Nothing changed on the way: the stored object already is the domain event (no copy on the hot path).
    if (data === recorded.data && reader.latestType === recorded.type) return recorded as unknown as Event;
    return { type: reader.latestType, data } as unknown as Event;
  }
}

function nextVersion(definition: EventDefinition, version: number): number {
  const next = Object.keys(definition.versions).map(Number).filter((v) => v > version).sort((a, b) => a - b)[0];
  if (next === undefined) throw new Error(`${definition.name}.v${version} has an upcaster but no later version`);
  return next;
}

function shapeProblem(fields: Record<string, FieldKind>, data: unknown): string | null {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return 'data is not an object';
  const record = data as Record<string, unknown>;
  for (const field in fields) {
    if (!fits(fields[field], record[field])) return `${field} is not ${describe(fields[field])}`;
  }
  return null;
}

function fits(kind: FieldKind, value: unknown): boolean {
  if (typeof kind !== 'string') return kind.includes(value as string);
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'string?':
      return value === null || value === undefined || typeof value === 'string';
    case 'integer':
      return Number.isSafeInteger(value);
    case 'strings':
      return Array.isArray(value) && value.every((item) => typeof item === 'string');
    case 'strings?':
      return value === null || (Array.isArray(value) && value.every((item) => typeof item === 'string'));
    case 'allocations':
      return (
        Array.isArray(value) &&
        value.every((item) => item !== null && typeof item === 'object' && typeof item.location === 'string' && Number.isSafeInteger(item.quantity))
      );
  }
}

function describe(kind: FieldKind): string {
  if (typeof kind !== 'string') return `one of ${kind.join(', ')}`;
  const names: Record<Exclude<FieldKind, readonly string[]>, string> = {
    string: 'a string',
    'string?': 'a string or null',
    integer: 'a whole number',
    strings: 'a list of strings',
    'strings?': 'a list of strings or null',
    allocations: 'a list of {location, quantity}',
  };
  return names[kind];
}

function v1(type: string, fields: Record<string, FieldKind>): EventDefinition {
  return { name: type.replace(/\.v1$/, ''), versions: { 1: { fields } } };
}

/** Stored shapes of the SKU streams' events, one entry per type; a v2 adds a version and a v1 upcaster. */
export const INVENTORY_EVENT_DEFINITIONS: readonly EventDefinition[] = [
  v1(EventTypes.StockReceived, { receiptId: 'string', location: 'string', quantity: 'integer', reference: 'string?' }),
  v1(EventTypes.StockAdjusted, { adjustmentId: 'string', location: 'string', mode: ['count', 'delta'], delta: 'integer', countedQuantity: 'integer', reason: ADJUSTMENT_REASONS }),
  v1(EventTypes.StockShortageDetected, { adjustmentId: 'string', location: 'string', shortfall: 'integer', reservationsAtRisk: 'strings' }),
  v1(EventTypes.StockReserved, {
    reservationId: 'string',
    channel: 'string',
    quantity: 'integer',
    allocations: 'allocations',
    ttlSeconds: 'integer',
    expiresAt: 'string',
    orderRef: 'string?',
  }),
  v1(EventTypes.ReservationCommitted, { reservationId: 'string', channel: 'string', quantity: 'integer', allocations: 'allocations' }),
  v1(EventTypes.ReservationReleased, { reservationId: 'string', channel: 'string', quantity: 'integer', allocations: 'allocations', reason: ['cancelled', 'expired'] }),
  v1(EventTypes.StockSold, { saleId: 'string', channel: 'string', quantity: 'integer', allocations: 'allocations' }),
  v1(EventTypes.ReturnReceived, { returnId: 'string', location: 'string', quantity: 'integer', orderRef: 'string?', channel: 'string?' }),
  v1(EventTypes.ReturnInspected, { returnId: 'string', location: 'string', restockQuantity: 'integer', writeOffQuantity: 'integer' }),
];

export const CHANNEL_EVENT_DEFINITIONS: readonly EventDefinition[] = [v1(EventTypes.ChannelConfigured, { channel: 'string', locations: 'strings?' })];

/** The SKU streams' events. */
export const inventoryEvents = new EventCodec<InventoryEvent>('inventory.', INVENTORY_EVENT_DEFINITIONS);
/** The channel stream's events. */
export const channelEvents = new EventCodec<ChannelEvent>('inventory.', CHANNEL_EVENT_DEFINITIONS);
