import type { ChannelEvent, InventoryEvent } from '@ledger/domain';
import type { EventToAppend, JsonObject, RecordedEvent } from '@ledger/event-store';
import { eventIdFor } from './event-ids';
import { GENESIS_HASH, chainHash } from './hash-chain';

/** Who asked, and under which ids: recorded in the metadata of every event the command appends. */
export interface CommandContext {
  commandId: string;
  /** The acting token's name, e.g. `service-1`, or `system:sweeper`. */
  actor: string;
  role: string;
  correlationId: string;
  causationId?: string;
}

/** The metadata stored with every ledger event: who, under which ids, when, and its link in the stream's hash chain. */
export interface LedgerEventMetadata {
  actor: string;
  role: string;
  commandId: string;
  correlationId: string;
  causationId: string;
  /** The command's time (ISO 8601), not the store's. */
  occurredAt: string;
  prevHash: string;
  hash: string;
}

export interface EnvelopedEvent extends EventToAppend {
  data: JsonObject;
  metadata: LedgerEventMetadata & JsonObject;
}

/** Wraps a domain event for the store: id, metadata for auditors and the link in the stream's hash chain. */
export function envelope(
  streamId: string,
  event: InventoryEvent | ChannelEvent,
  context: CommandContext,
  occurredAt: number,
  prevHash: string,
): EnvelopedEvent {
  const metadata = {
    actor: context.actor,
    role: context.role,
    commandId: context.commandId,
    correlationId: context.correlationId,
    causationId: context.causationId ?? context.commandId,
    occurredAt: new Date(occurredAt).toISOString(),
    prevHash,
    hash: '',
  };
  const data: JsonObject = event.data;
  metadata.hash = chainHash(prevHash, { type: event.type, data, metadata });
  return { id: eventIdFor(streamId, event, occurredAt), type: event.type, data, metadata };
}

/** The hash the next event of a stream links to: the last stored event's, or the genesis hash. */
export function lastHashOf(events: readonly RecordedEvent[]): string {
  const hash = events[events.length - 1]?.metadata.hash;
  return typeof hash === 'string' ? hash : GENESIS_HASH;
}
