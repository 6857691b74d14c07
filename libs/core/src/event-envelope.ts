import { chainHash } from '@ledger/audit';
import type { InventoryEvent, ChannelEvent } from '@ledger/domain';
import { deterministicUuid, type EventToAppend } from '@ledger/event-store';
import type { CommandContext } from './command-context';

/**
 * Every entity moves through each event type at most once (a reservation is reserved once, committed
 * once...), so the stream, the type and the entity's id name an event uniquely. Ids derived from
 * them make a retried append recognisable to the store.
 */
export function eventIdFor(streamId: string, event: InventoryEvent | ChannelEvent, occurredAt: number): string {
  return deterministicUuid(`${streamId}|${event.type}|${entityKey(event, occurredAt)}`);
}

function entityKey(event: InventoryEvent | ChannelEvent, occurredAt: number): string {
  const data = event.data as unknown as Record<string, unknown>;
  const id = data.receiptId ?? data.adjustmentId ?? data.reservationId ?? data.saleId ?? data.returnId;
  // Channel changes have no id of their own: the same setting made twice at different times is two events.
  return typeof id === 'string' ? id : `${String(data.channel)}@${occurredAt}`;
}

/** Wraps a domain event for the store: id, metadata for auditors and the link in the stream's hash chain. */
export function envelope(
  streamId: string,
  event: InventoryEvent | ChannelEvent,
  context: CommandContext,
  occurredAt: number,
  prevHash: string,
): EventToAppend & { metadata: Record<string, unknown> } {
  const metadata: Record<string, unknown> = {
    actor: context.actor,
    role: context.role,
    commandId: context.commandId,
    correlationId: context.correlationId,
    causationId: context.causationId ?? context.commandId,
    occurredAt: new Date(occurredAt).toISOString(),
    prevHash,
  };
  const data = event.data as unknown as Record<string, unknown>;
  metadata.hash = chainHash(prevHash, { type: event.type, data, metadata });
  return { id: eventIdFor(streamId, event, occurredAt), type: event.type, data, metadata };
}
