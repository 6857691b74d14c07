import { EventTypes } from '@ledger/domain';
import { EventCodec, UnreadableEventError, channelEvents, inventoryEvents } from './event-codec';

const stored = (type: string, data: Record<string, unknown>) => ({ streamId: 'inventory-sku-S', revision: 3, type, data });
const reserved = { reservationId: 'h1', channel: 'web', quantity: 2, allocations: [{ location: 'A', quantity: 2 }], ttlSeconds: 60, expiresAt: '2026-01-01T00:01:00.000Z', orderRef: null };

describe('event codec', () => {
  it('reads a stored event of the current version as the domain event, without a copy', () => {
    const event = stored(EventTypes.StockReserved, reserved);
    expect(inventoryEvents.decode(event)).toBe(event);
    const channel = stored(EventTypes.ChannelConfigured, { channel: 'web', locations: null });
    expect(channelEvents.decode(channel)).toBe(channel);
  });

  it('answers null for an event of another kind of stream', () => {
    expect(inventoryEvents.decode(stored(EventTypes.ChannelConfigured, { channel: 'web', locations: null }))).toBeNull();
    expect(channelEvents.decode(stored(EventTypes.StockReserved, reserved))).toBeNull();
    expect(inventoryEvents.decode(stored('$metadata', {}))).toBeNull();
  });

  it('skips the types a reader does not handle before reading their data, still refusing unknown versions', () => {
    const only = new Set([EventTypes.StockSold]);
    expect(inventoryEvents.decode(stored(EventTypes.StockReserved, { broken: true }), only)).toBeNull();
    const sold = stored(EventTypes.StockSold, { saleId: 's1', channel: 'web', quantity: 1, allocations: [] });
    expect(inventoryEvents.decode(sold, only)).toBe(sold);
    expect(() => inventoryEvents.decode(stored('inventory.stock-reserved.v9', reserved), only)).toThrow(UnreadableEventError);
  });

  it('refuses a known type of a version it does not know, naming the stream and revision', () => {
    const read = () => inventoryEvents.decode(stored('inventory.stock-reserved.v9', reserved));
    expect(read).toThrow(UnreadableEventError);
    expect(read).toThrow(/inventory\.stock-reserved\.v9 at inventory-sku-S@3 .*version/);
  });

  it('refuses data of the wrong shape, naming the field', () => {
    expect(() => inventoryEvents.decode(stored(EventTypes.StockReserved, { ...reserved, quantity: '2' }))).toThrow(/quantity is not a whole number/);
    expect(() => inventoryEvents.decode(stored(EventTypes.StockReserved, { ...reserved, allocations: [{ location: 'A' }] }))).toThrow(/allocations/);
    expect(() => inventoryEvents.decode(stored(EventTypes.ReservationReleased, { ...reserved, reason: 'lost' }))).toThrow(/reason is not one of cancelled, expired/);
    expect(() => inventoryEvents.decode(stored(EventTypes.StockReceived, null as never))).toThrow(/data is not an object/);
  });

  it('lifts an old version through its upcaster to the newest shape', () => {
    const codec = new EventCodec<{ type: string; data: { sku: string; units: number } }>('test.', [
      {
        name: 'test.counted',
        versions: {
          1: { fields: { count: 'integer' }, upcast: (data) => ({ sku: 'unknown', units: data.count }) },
          2: { fields: { sku: 'string', units: 'integer' } },
        },
      },
    ]);
    expect(codec.decode({ streamId: 's', revision: 0, type: 'test.counted.v1', data: { count: 4 } })).toEqual({ type: 'test.counted.v2', data: { sku: 'unknown', units: 4 } });
    const current = { streamId: 's', revision: 1, type: 'test.counted.v2', data: { sku: 'S', units: 1 } };
    expect(codec.decode(current)).toBe(current);
    expect(() => codec.decode({ streamId: 's', revision: 2, type: 'test.counted.v1', data: { count: 'x' } })).toThrow(UnreadableEventError);
  });

  it('refuses a definition whose newest version has an upcaster', () => {
    const upcastToNothing = { fields: {}, upcast: (data: Record<string, unknown>) => data };
    expect(() => new EventCodec('test.', [{ name: 'test.lost', versions: { 1: upcastToNothing } }])).toThrow(/upcaster but no later version/);
  });
});
