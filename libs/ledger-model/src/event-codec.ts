import { ADJUSTMENT_REASONS, EventTypes, type ChannelEvent, type InventoryEvent } from '@ledger/domain';
import type { JsonObject, RecordedEvent } from '@ledger/event-store';

/** What one field of an event's data must hold; a list names the only strings allowed. */
export type FieldKind = 'string' | 'string?' | 'integer' | 'allocations' | 'strings' | 'strings?' | readonly string[];

/** One stored version of an event type: its data's shape, and how to lift it to the next version. */
export interface EventVersion {
  fields: Readonly<Record<string, FieldKind>>;
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

/** One version's reading, compiled once: this runs for every event every reader reads. */
interface Step {
  fits(data: unknown): boolean;
  fields: Readonly<Record<string, FieldKind>>;
  upcast?(data: JsonObject): JsonObject;
}

interface Reader {
  /** The newest version's type string, which the domain knows. */
  latestType: string;
  /** This version's step, then each later one's. */
  steps: Step[];
}

/**
 * The one reading of stored events: type string -> version -> shape check -> (upcast to the newest
 * version) -> domain event. Every reader (the write side's load, projections, auditors) goes through
 * it, so a stored event the code cannot understand fails loudly in one place.
 */
export class EventCodec<Event extends { type: string; data: object }> {
  private readonly readers = new Map<string, Reader>();
  private readonly names = new Set<string>();

  constructor(readonly prefix: string, definitions: readonly EventDefinition[]) {
    for (const definition of definitions) {
      const versions = Object.keys(definition.versions).map(Number).sort((a, b) => a - b);
      const steps = versions.map((version, index): Step => {
        const { fields, upcast } = definition.versions[version];
        if (upcast && index === versions.length - 1) throw new Error(`${definition.name}.v${version} has an upcaster but no later version`);
        return { fits: compileCheck(fields), fields, upcast };
      });
      const latestType = `${definition.name}.v${versions[versions.length - 1]}`;
      this.names.add(definition.name);
      versions.forEach((version, index) => this.readers.set(`${definition.name}.v${version}`, { latestType, steps: steps.slice(index) }));
    }
  }

  /**
   * The domain event a stored one holds, or null when its type is none of this codec's (another
   * kind of stream's event) or, given `only`, none of those (newest type strings) the reader handles.
   * Throws UnreadableEventError for a known type of an unknown version or with data of the wrong shape.
   */
  decode(recorded: Pick<RecordedEvent, 'streamId' | 'revision' | 'type' | 'data'>, only?: ReadonlySet<string>): Event | null {
    const reader = this.readers.get(recorded.type);
    if (!reader) {
      if (!recorded.type.startsWith(this.prefix)) return null;
      const name = recorded.type.replace(/\.v\d+$/, '');
      if (this.names.has(name)) throw new UnreadableEventError(recorded, 'a version this code does not know (written by a newer release?)');
      return null;
    }
    // Filtered on the newest type, so an older version of a handled type is still read (and upcast).
    if (only && !only.has(reader.latestType)) return null;
    let data = recorded.data;
    for (const step of reader.steps) {
      if (!step.fits(data)) throw new UnreadableEventError(recorded, shapeProblem(step.fields, data));
      if (step.upcast) data = step.upcast(data);
    }
    // Nothing changed on the way: the stored object already is the domain event (no copy on the hot path).
    if (reader.steps.length === 1) return recorded as unknown as Event;
    return { type: reader.latestType, data } as unknown as Event;
  }
}

/** What is wrong with the data, for the error: the first field that does not fit. */
function shapeProblem(fields: Readonly<Record<string, FieldKind>>, data: unknown): string {
  if (!isObject(data)) return 'data is not an object';
  for (const [field, kind] of Object.entries(fields)) {
    if (!fitsFor(kind)(data[field])) return `${field} is not ${describe(kind)}`;
  }
  return 'data does not fit';
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
const isString = (value: unknown): boolean => typeof value === 'string';
const isStrings = (value: unknown): boolean => Array.isArray(value) && value.every(isString);
const isAllocation = (item: unknown): boolean =>
  isObject(item) && typeof item.location === 'string' && Number.isSafeInteger(item.quantity);
const isAllocations = (value: unknown): boolean => Array.isArray(value) && value.every(isAllocation);

function fitsFor(kind: FieldKind): (value: unknown) => boolean {
  if (typeof kind !== 'string') return (value) => kind.includes(value as string);
  switch (kind) {
    case 'string':
      return isString;
    case 'string?':
      return (value) => value === null || value === undefined || typeof value === 'string';
    case 'integer':
      return Number.isSafeInteger;
    case 'strings':
      return isStrings;
    case 'strings?':
      return (value) => value === null || isStrings(value);
    case 'allocations':
      return isAllocations;
  }
}

/** The table of fields as one yes/no check; shapeProblem says which field failed. */
function compileCheck(fields: Readonly<Record<string, FieldKind>>): (data: unknown) => boolean {
  const checks = Object.entries(fields).map(([field, kind]) => ({ field, fits: fitsFor(kind) }));
  return (data) => {
    if (!isObject(data)) return false;
    for (let i = 0; i < checks.length; i++) if (!checks[i].fits(data[checks[i].field])) return false;
    return true;
  };
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
