import type { CommandBus } from '@nestjs/cqrs';
import {
  AdjustStockCommand,
  CommitReservationCommand,
  ConfigureChannelCommand,
  ReceiveReturnCommand,
  ReceiveStockCommand,
  ReleaseReservationCommand,
  ReserveStockCommand,
  SellStockCommand,
  InspectReturnCommand,
  ExpireReservationsCommand,
  type CommandContext,
} from '@ledger/core';
import type { ManualClock } from '@ledger/platform';
import { seededRandom } from './seeded-random';


export interface HistoryShape {
  skus: number;
  locations: string[];
  channels: string[];
  commands: number;
}

/**
 * Sends a random mix of every command through the command bus. Refusals are part of the history
 * (they append nothing); the clock moves so some holds expire.
 */
export async function runRandomHistory(bus: CommandBus, clock: ManualClock, shape: HistoryShape, seed: number, label = 'h'): Promise<void> {
  const random = seededRandom(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const context = (id: string): CommandContext => ({ commandId: id, actor: 'test', role: 'ops', correlationId: label });
  const reservations: { sku: string; id: string }[] = [];
  const returns: { sku: string; id: string; quantity: number }[] = [];
  const ignoreRefusal = (promise: Promise<unknown>) => promise.catch((error: Error) => {
    if (error.name !== 'DomainError') throw error;
  });
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < shape.commands; i++) {
    const sku = `SKU-${Math.floor(random() * shape.skus)}`;
    const id = `${label}-${i}`;
    const roll = random();
    const pending: Promise<unknown>[] = [];
    if (roll < 0.02) {
      const locations = shape.locations.filter(() => random() < 0.6);
      pending.push(bus.execute(new ConfigureChannelCommand(pick(shape.channels), locations, context(id))));
    } else if (roll < 0.25) {
      pending.push(bus.execute(new ReceiveStockCommand(sku, { receiptId: id, location: pick(shape.locations), quantity: 1 + Math.floor(random() * 20) }, context(id))));
    } else if (roll < 0.5) {
      reservations.push({ sku, id });
      pending.push(bus.execute(new ReserveStockCommand(sku, { reservationId: id, channel: pick(shape.channels), quantity: 1 + Math.floor(random() * 5), ttlSeconds: 60 + Math.floor(random() * 600) }, context(id))));
    } else if (roll < 0.62 && reservations.length) {
      const r = pick(reservations);
      pending.push(bus.execute(new CommitReservationCommand(r.sku, { reservationId: r.id }, context(id))));
    } else if (roll < 0.72 && reservations.length) {
      const r = pick(reservations);
      pending.push(bus.execute(new ReleaseReservationCommand(r.sku, { reservationId: r.id }, context(id))));
    } else if (roll < 0.78) {
      pending.push(bus.execute(new SellStockCommand(sku, { saleId: id, channel: pick(shape.channels), quantity: 1 + Math.floor(random() * 3) }, context(id))));
    } else if (roll < 0.84) {
      const quantity = 1 + Math.floor(random() * 4);
      returns.push({ sku, id, quantity });
      pending.push(bus.execute(new ReceiveReturnCommand(sku, { returnId: id, location: pick(shape.locations), quantity }, context(id))));
    } else if (roll < 0.9 && returns.length) {
      const r = returns.splice(Math.floor(random() * returns.length), 1)[0];
      const restock = Math.floor(random() * (r.quantity + 1));
      pending.push(bus.execute(new InspectReturnCommand(r.sku, { returnId: r.id, restockQuantity: restock, writeOffQuantity: r.quantity - restock }, context(id))));
    } else if (roll < 0.95) {
      const reason = pick(['cycle_count', 'damage', 'shrinkage', 'correction'] as const);
      pending.push(bus.execute(new AdjustStockCommand(sku, { adjustmentId: id, location: pick(shape.locations), countedQuantity: Math.floor(random() * 15), reason }, context(id))));
    } else {
      clock.advance(Math.floor(random() * 300_000));
      pending.push(bus.execute(new ExpireReservationsCommand(sku, context(id))));
    }
    // Let some commands overlap, as concurrent callers would.
    if (random() < 0.7) await Promise.all(pending.map(ignoreRefusal));
    else inFlight.push(...pending.map(ignoreRefusal));
  }
  await Promise.all(inFlight);
}
