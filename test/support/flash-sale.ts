import {
  EventTypes,
  channelAvailable,
  evolve,
  initialState,
  stockTotals,
  type Allocation,
} from '@ledger/domain';
import { GENESIS_HASH, chainHash, inventoryEvents } from '@ledger/ledger-model';
import { createClient, readLedger, type HttpResponse, type LedgerEntry } from './http';

/**
 * The flash sale of issue 2, over real HTTP against any running ledger (the embedded store today,
 * EventStoreDB through its emulator later): many concurrent holds from several channels, some of
 * them restricted to a subset of the locations, on one SKU with little stock. It asserts with jest's
 * `expect` and returns what it saw for further checks.
 */
export interface FlashSaleOptions {
  /** http://host:port of a started ledger. */
  baseUrl: string;
  /** A token allowed to configure channels and move stock (ops); none when the service has no tokens. */
  token?: string;
  /** Makes SKU and channel names unique, so the scenario can run against a store with earlier data. */
  runId?: string;
  /** Concurrent reservation requests (default 1,000). */
  requests?: number;
  /** Client sockets (default 200): every request is sent at once, the agent spreads them over these. */
  maxSockets?: number;
  /** Page size when reading the ledger back (default 40, so the read takes several pages). */
  pageSize?: number;
}

export interface FlashSaleReport {
  sku: string;
  channels: Record<string, string[]>;
  /** Units any channel can hold: the stock at locations some channel draws from. */
  holdable: number;
  accepted: { reservationId: string; channel: string; quantity: number; allocations: Allocation[] }[];
  refused: number;
  ledger: LedgerEntry[];
}

/** Stock per location; `returns-cage` is on hand but no channel draws from it, so it can never be held. */
export const FLASH_SALE_STOCK: Record<string, number[]> = { 'wh-east': [35, 25], 'wh-west': [40], 'returns-cage': [25] };

export async function runFlashSale(options: FlashSaleOptions): Promise<FlashSaleReport> {
  const runId = options.runId ?? `${Date.now().toString(36)}`;
  const sku = `FLASH-${runId}`;
  const requests = options.requests ?? 1_000;
  const client = createClient(options.baseUrl, { token: options.token ?? null, maxSockets: options.maxSockets ?? 200 });
  try {
    // Two channels draw on both warehouses (in opposite order), two on one warehouse each.
    const channels: Record<string, string[]> = {
      [`web-${runId}`]: ['wh-east', 'wh-west'],
      [`app-${runId}`]: ['wh-west', 'wh-east'],
      [`market-${runId}`]: ['wh-east'],
      [`store-${runId}`]: ['wh-west'],
    };
    const channelNames = Object.keys(channels);
    for (const [channel, locations] of Object.entries(channels)) {
      const configured = await client.put(`/v1/channels/${channel}`, { locations });
      expect(configured.status).toBe(200);
    }

    let receipt = 0;
    for (const [location, quantities] of Object.entries(FLASH_SALE_STOCK)) {
      for (const quantity of quantities) {
        const received = await client.post(`/v1/skus/${sku}/receipts`, { receiptId: `rcpt-${++receipt}`, location, quantity });
        expect(received.status).toBe(201);
      }
    }
    const stockAt = (location: string) => FLASH_SALE_STOCK[location].reduce((sum, quantity) => sum + quantity, 0);
    const reachable = new Set(Object.values(channels).flat());
    const holdable = [...reachable].reduce((sum, location) => sum + stockAt(location), 0);
    const onHand = Object.keys(FLASH_SALE_STOCK).reduce((sum, location) => sum + stockAt(location), 0);

    // The first channel (both warehouses) always asks for one unit: once one of its requests is
    // refused, nothing holdable was left, so "exactly `holdable` held" does not depend on arrival order.
    const asks = Array.from({ length: requests }, (_, index) => {
      const channel = channelNames[index % channelNames.length];
      const quantity = index % channelNames.length === 0 ? 1 : 1 + (index % 3);
      return { reservationId: `hold-${String(index).padStart(4, '0')}`, channel, quantity, orderRef: `order-${index}` };
    });
    const answers = await Promise.all(
      asks.map((ask) => client.post(`/v1/skus/${sku}/reservations`, { ...ask, ttlSeconds: 3_600 })),
    );

    const accepted: FlashSaleReport['accepted'] = [];
    let refused = 0;
    const unexpected: { ask: (typeof asks)[number]; answer: HttpResponse }[] = [];
    answers.forEach((answer, index) => {
      const ask = asks[index];
      if (answer.status === 201) {
        const { reservationId, status, channel, quantity, allocations } = answer.body;
        const allocated = (allocations as Allocation[]).reduce((sum, allocation) => sum + allocation.quantity, 0);
        const inChannel = (allocations as Allocation[]).every((allocation) => channels[ask.channel].includes(allocation.location));
        if (reservationId !== ask.reservationId || status !== 'held' || channel !== ask.channel || quantity !== ask.quantity || allocated !== ask.quantity || !inChannel) {
          unexpected.push({ ask, answer });
        }
        accepted.push({ reservationId, channel, quantity, allocations });
      } else if (answer.status === 409 && answer.body?.code === 'INSUFFICIENT_STOCK' && answer.body.details.available < ask.quantity) {
        refused++;
      } else {
        unexpected.push({ ask, answer });
      }
    });
    expect(unexpected.slice(0, 5).map(({ ask, answer }) => ({ ask, status: answer.status, body: answer.body }))).toEqual([]);
    expect(accepted.length + refused).toBe(requests);

    // Exactly what could be held was held, and every warehouse gave all it had.
    const held = accepted.reduce((sum, hold) => sum + hold.quantity, 0);
    expect(held).toBe(holdable);
    expect(asks.some((ask, index) => ask.channel === channelNames[0] && answers[index].status === 409)).toBe(true);
    const heldAt = new Map<string, number>();
    for (const hold of accepted) for (const { location, quantity } of hold.allocations) heldAt.set(location, (heldAt.get(location) ?? 0) + quantity);
    expect(Object.fromEntries(heldAt)).toEqual(Object.fromEntries([...reachable].map((location) => [location, stockAt(location)])));

    // The ledger holds the receipts and exactly the accepted holds, in one unbroken hash chain.
    const ledger = await readLedger(client, sku, options.pageSize ?? 40);
    expect(ledger.map((event) => event.revision)).toEqual(ledger.map((_, index) => index));
    const reservedIds = ledger.filter((event) => event.type === EventTypes.StockReserved).map((event) => event.data.reservationId as string);
    expect(reservedIds.length).toBe(accepted.length);
    expect([...reservedIds].sort()).toEqual(accepted.map((hold) => hold.reservationId).sort());
    expect(ledger.filter((event) => event.type === EventTypes.StockReceived)).toHaveLength(receipt);
    expect(ledger).toHaveLength(receipt + accepted.length);
    let prevHash = GENESIS_HASH;
    for (const event of ledger) {
      expect(event.metadata.prevHash).toBe(prevHash);
      expect(chainHash(prevHash, event)).toBe(event.metadata.hash);
      prevHash = event.metadata.hash;
    }
    const acceptedById = new Map(accepted.map((hold) => [hold.reservationId, hold]));
    for (const event of ledger.filter((entry) => entry.type === EventTypes.StockReserved)) {
      const hold = acceptedById.get(event.data.reservationId);
      expect({ channel: event.data.channel, quantity: event.data.quantity, allocations: event.data.allocations }).toEqual({
        channel: hold?.channel,
        quantity: hold?.quantity,
        allocations: hold?.allocations,
      });
    }

    // Folding the stream read back over HTTP gives what the service reports.
    const replayed = initialState();
    for (const event of ledger) {
      const decoded = inventoryEvents.decode({ ...event, streamId: `inventory-sku-${sku}` });
      if (decoded) evolve(replayed, decoded);
    }
    const view = await client.get(`/v1/skus/${sku}`);
    expect(view.status).toBe(200);
    const listed = await client.get('/v1/channels');
    const channelLists = new Map<string, string[] | null>(listed.body.channels.map((entry: { channel: string; locations: string[] | null }) => [entry.channel, entry.locations]));
    expect({
      revision: ledger.length - 1,
      totals: stockTotals(replayed),
      locations: Object.fromEntries([...replayed.locations].map(([location, stock]) => [location, { ...stock, available: stock.onHand - stock.reserved }])),
      channels: Object.fromEntries([...channelLists].map(([channel, locations]) => [channel, { available: channelAvailable(replayed, locations) }])),
    }).toEqual({ revision: view.body.revision, totals: view.body.totals, locations: view.body.locations, channels: view.body.channels });
    expect(view.body.totals).toMatchObject({ onHand, reserved: holdable, available: onHand - holdable });
    for (const channel of channelNames) expect(view.body.channels[channel]).toEqual({ available: 0 });
    expect([...replayed.held].sort()).toEqual(accepted.map((hold) => hold.reservationId).sort());

    return { sku, channels, holdable, accepted, refused, ledger };
  } finally {
    client.close();
  }
}
