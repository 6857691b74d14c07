import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GENESIS_HASH, envelope, type CommandContext } from '@ledger/ledger-model';
import {
  CHANNELS_STREAM_ID,
  EventTypes,
  decide,
  evolve,
  initialState,
  skuStreamId,
  type SkuCommand,
  type SkuState,
} from '@ledger/domain';
import { SqliteEventStore, type EventToAppend } from '@ledger/event-store';
import { seededRandom } from './measure';

/** Bump when the generated history changes shape, so cached datasets are made again. */
export const DATASET_VERSION = 1;
export const DATASET_SKUS = 5_000;
const CHANNELS: Record<string, string[] | null> = { web: ['wh-east', 'wh-west'], app: ['wh-west', 'wh-east'], market: ['wh-east'], store: null };
const LOCATIONS = ['wh-east', 'wh-west', 'store-1'];
const ROUNDS = 10;

export function datasetDir(root: string, events: number): string {
  return join(root, 'ledger-bench-datasets', `events-${events}-v${DATASET_VERSION}`);
}

interface SkuHistory {
  sku: string;
  streamId: string;
  state: SkuState;
  revision: number;
  lastHash: string;
  held: string[];
  pendingReturns: { returnId: string; quantity: number }[];
  seq: number;
}

/**
 * Writes a ledger of `total` valid events (decided by the domain, wrapped with ids, metadata and the
 * hash chain, exactly as the write side does) for 5,000 SKUs, interleaved in rounds so the global
 * order mixes SKUs as live traffic does. Appends go straight to the store in big batches: one call per
 * SKU per round, all of a round in flight at once (the store commits them together).
 */
export async function generateDataset(dir: string, total: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const building = join(dir, 'building.db');
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${building}${suffix}`, { force: true });
  const store = new SqliteEventStore({ path: building });
  const random = seededRandom(42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const context = (id: string): CommandContext => ({ commandId: id, actor: 'bench-generator', role: 'ops', correlationId: `gen-${id}` });
  let now = Date.now() - 30 * 24 * 3600_000;

  // Channel configuration first, in its own stream.
  let channelHash = GENESIS_HASH;
  const channelEvents: EventToAppend[] = Object.entries(CHANNELS).map(([channel, locations]) => {
    const wrapped = envelope(CHANNELS_STREAM_ID, { type: EventTypes.ChannelConfigured, data: { channel, locations } }, context(`channel-${channel}`), now, channelHash);
    channelHash = wrapped.metadata.hash as string;
    return wrapped;
  });
  await store.appendToStream(CHANNELS_STREAM_ID, channelEvents, { expectedRevision: 'no_stream' });
  let written = channelEvents.length;

  const skus: SkuHistory[] = Array.from({ length: DATASET_SKUS }, (_, index) => {
    const sku = `SKU-${String(index).padStart(5, '0')}`;
    return { sku, streamId: skuStreamId(sku), state: initialState(), revision: -1, lastHash: GENESIS_HASH, held: [], pendingReturns: [], seq: 0 };
  });
  const perRound = Math.ceil((total - written) / (ROUNDS * DATASET_SKUS));

  for (let round = 0; round < ROUNDS && written < total; round++) {
    const appends: Promise<unknown>[] = [];
    for (const history of skus) {
      const quota = Math.min(perRound, total - written);
      if (quota <= 0) break;
      const events: EventToAppend[] = [];
      while (events.length < quota) {
        now += 1_000;
        const command = nextCommand(history, random, pick, now);
        const decision = decide(command, history.state);
        if (decision.error) continue;
        for (const event of decision.events) {
          if (events.length >= quota) break;
          const wrapped = envelope(history.streamId, event, context(`${history.sku}-${history.seq}`), now, history.lastHash);
          history.lastHash = wrapped.metadata.hash as string;
          evolve(history.state, event);
          events.push(wrapped);
          if (event.type === EventTypes.StockReserved) history.held.push(event.data.reservationId);
          if (event.type === EventTypes.ReturnReceived) history.pendingReturns.push({ returnId: event.data.returnId, quantity: event.data.quantity });
        }
      }
      const expectedRevision = history.revision < 0 ? 'no_stream' : history.revision;
      history.revision += events.length;
      written += events.length;
      appends.push(store.appendToStream(history.streamId, events, { expectedRevision }));
    }
    await Promise.all(appends);
    // Keep the generator's own memory in check: old, finished holds are not needed for deciding.
    for (const history of skus) {
      for (const [id, reservation] of history.state.reservations) if (reservation.status !== 'held') history.state.reservations.delete(id);
    }
    process.stdout.write(`\r[rebuild] generated ${written.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} events`);
  }
  process.stdout.write('\n');
  await store.close();
  renameSync(building, join(dir, 'ledger.db'));
}

function nextCommand(history: SkuHistory, random: () => number, pick: <T>(items: readonly T[]) => T, now: number): SkuCommand {
  const id = `${history.sku}-${++history.seq}`;
  const roll = random();
  const channel = pick(Object.keys(CHANNELS));
  if (history.seq === 1 || roll < 0.12) {
    return { type: 'ReceiveStock', now, receiptId: `rcpt-${id}`, location: pick(LOCATIONS), quantity: 5 + Math.floor(random() * 45), reference: null };
  }
  if (roll < 0.47) {
    return { type: 'ReserveStock', now, reservationId: `res-${id}`, channel, channelLocations: CHANNELS[channel], quantity: 1 + Math.floor(random() * 3), ttlSeconds: 3600, orderRef: `order-${id}` };
  }
  if (roll < 0.72 && history.held.length > 0) {
    const reservationId = history.held.splice(Math.floor(random() * history.held.length), 1)[0];
    return roll < 0.62 ? { type: 'CommitReservation', now, reservationId } : { type: 'ReleaseReservation', now, reservationId, reason: 'cancelled' };
  }
  if (roll < 0.82) return { type: 'SellStock', now, saleId: `sale-${id}`, channel, channelLocations: CHANNELS[channel], quantity: 1 + Math.floor(random() * 2) };
  if (roll < 0.9) return { type: 'ReceiveReturn', now, returnId: `ret-${id}`, location: pick(LOCATIONS), quantity: 1 + Math.floor(random() * 2), orderRef: null, channel };
  if (roll < 0.97 && history.pendingReturns.length > 0) {
    const { returnId, quantity } = history.pendingReturns.shift() as { returnId: string; quantity: number };
    const restockQuantity = Math.floor(random() * (quantity + 1));
    return { type: 'InspectReturn', now, returnId, restockQuantity, writeOffQuantity: quantity - restockQuantity };
  }
  return { type: 'AdjustStock', now, adjustmentId: `adj-${id}`, location: pick(LOCATIONS), delta: Math.floor(random() * 5) - 1, reason: 'correction' };
}

/** As a process of its own: `generate-events.ts <dir> <events>`. */
if (require.main === module) {
  const [dir, events] = process.argv.slice(2);
  if (existsSync(join(dir, 'ledger.db'))) process.exit(0);
  generateDataset(dir, Number(events)).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
