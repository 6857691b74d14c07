import type { OutgoingMessage } from '@ledger/bus';
import { skuFromStreamId } from '@ledger/domain';
import type { JsonObject, RecordedEvent } from '@ledger/event-store';
import type { AvailabilityChange } from '@ledger/projections';

/** The value of a message on `inventory.ledger.v1` (JSON). Key: the SKU, or the stream id for `inventory-channels`. */
export interface LedgerEventMessage {
  eventId: string;
  type: string;
  /** Null for events of streams that are not SKU streams (`inventory-channels`). */
  sku: string | null;
  /** The event's revision in its stream (from 0). */
  revision: number;
  /** The event's global ledger position. */
  position: number;
  /** When the command behind the event was decided, ISO 8601. */
  occurredAt: string;
  data: JsonObject;
  /** actor, role, commandId, correlationId, causationId, occurredAt, prevHash, hash. */
  metadata: JsonObject;
}

/**
 * The value of a message on `inventory.availability.v1` (JSON). Key: `<channel>:<sku>`.
 * Apply by the rule in libs/relay/README.md: keep the highest (revision, position) per key.
 */
export interface AvailabilityMessage {
  sku: string;
  channel: string;
  available: number;
  /** The SKU stream revision this count reflects. */
  revision: number;
  /** The ledger position of the event that made this count. */
  position: number;
  /** When the relay sent it, ISO 8601. */
  emittedAt: string;
}

export function ledgerEventMessage(topic: string, event: RecordedEvent): OutgoingMessage {
  const sku = skuFromStreamId(event.streamId);
  const occurred = typeof event.metadata.occurredAt === 'string' ? event.metadata.occurredAt : event.recordedAt;
  const value: LedgerEventMessage = {
    eventId: event.id,
    type: event.type,
    sku,
    revision: event.revision,
    position: event.position,
    occurredAt: occurred,
    data: event.data,
    metadata: event.metadata,
  };
  const headers: Record<string, string> = { 'event-id': event.id, 'event-type': event.type };
  if (typeof event.metadata.correlationId === 'string') headers['correlation-id'] = event.metadata.correlationId;
  return { topic, key: sku ?? event.streamId, value: JSON.stringify(value), headers };
}

export function availabilityKey(channel: string, sku: string): string {
  return `${channel}:${sku}`;
}

export function availabilityMessage(topic: string, change: AvailabilityChange, emittedAt: string): OutgoingMessage {
  const { sku, channel, available, revision, position } = change;
  const value: AvailabilityMessage = { sku, channel, available, revision, position, emittedAt };
  return { topic, key: availabilityKey(channel, sku), value: JSON.stringify(value) };
}
