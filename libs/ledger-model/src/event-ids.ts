import type { ChannelEvent, InventoryEvent } from '@ledger/domain';
import { deterministicUuid } from '@ledger/event-store';

/**
 * Every entity moves through each event type at most once (a reservation is reserved once, committed
 * once...), so the stream, the type and the entity's id name an event uniquely. Ids derived from
 * them make a retried append recognisable to the store.
 */
export function eventIdFor(streamId: string, event: InventoryEvent | ChannelEvent, occurredAt: number): string {
  return deterministicUuid(`${streamId}|${event.type}|${entityKey(event, occurredAt)}`);
}

function entityKey(event: InventoryEvent | ChannelEvent, occurredAt: number): string {
  const data: Partial<Record<string, unknown>> = event.data;
  const id = data.receiptId ?? data.adjustmentId ?? data.reservationId ?? data.saleId ?? data.returnId;
  // Channel changes have no id of their own: the same setting made twice at different times is two events.
  return typeof id === 'string' ? id : `${String(data.channel)}@${occurredAt}`;
}
