import {
  channelAvailable,
  evolve,
  evolveChannels,
  initialChannelsState,
  initialState,
  skuFromStreamId,
  type SkuState,
} from '@ledger/domain';
import type { EventStore, RecordedEvent } from '@ledger/event-store';
import { channelEvents, inventoryEvents } from '@ledger/ledger-model';

/** The read models as a direct fold of the ledger with the domain's own evolve: what projections must equal. */
export interface LedgerFold {
  states: Map<string, { state: SkuState; revision: number }>;
  availability: { sku: string; channel: string; available: number; revision: number }[];
  reservations: { sku: string; reservationId: string; status: string; quantity: number; channel: string }[];
  returns: { sku: string; returnId: string; status: string; quantity: number }[];
  locationStock: { sku: string; location: string; onHand: number; reserved: number; available: number; pendingInspection: number }[];
}

export async function readWholeLedger(store: EventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let after: number | null = null;
  for (;;) {
    const page = await store.readAll({ after, maxCount: 5_000 });
    if (page.length === 0) return events;
    events.push(...page);
    after = page[page.length - 1].position;
  }
}

export function foldLedger(events: RecordedEvent[]): LedgerFold {
  const states = new Map<string, { state: SkuState; revision: number }>();
  const channels = initialChannelsState();
  for (const event of events) {
    const sku = skuFromStreamId(event.streamId);
    const stockEvent = sku ? inventoryEvents.decode(event) : null;
    const channelEvent = sku ? null : channelEvents.decode(event);
    if (sku && stockEvent) {
      const entry = states.get(sku) ?? { state: initialState(), revision: -1 };
      evolve(entry.state, stockEvent);
      entry.revision = event.revision;
      states.set(sku, entry);
    } else if (channelEvent) {
      evolveChannels(channels, channelEvent);
    }
  }
  const fold: LedgerFold = { states, availability: [], reservations: [], returns: [], locationStock: [] };
  for (const [sku, { state, revision }] of [...states].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const [channel, locations] of channels) fold.availability.push({ sku, channel, available: channelAvailable(state, locations), revision });
    for (const r of state.reservations.values()) fold.reservations.push({ sku, reservationId: r.reservationId, status: r.status, quantity: r.quantity, channel: r.channel });
    for (const r of state.returns.values()) fold.returns.push({ sku, returnId: r.returnId, status: r.status, quantity: r.quantity });
    for (const [location, s] of state.locations) {
      fold.locationStock.push({ sku, location, onHand: s.onHand, reserved: s.reserved, available: s.onHand - s.reserved, pendingInspection: s.pendingInspection });
    }
  }
  return fold;
}
