import { Logger, type LoggerService } from '@nestjs/common';
import type { LedgerClient, OrderAnswer, OrderLine } from '../ledger/ledger-client';
import type { ListingCatalog } from '../listings';
import { ConnectorMetrics } from '../metrics';
import type { OrderRecord, SyncStateStore } from '../state/sync-state-store';
import type { ChannelSync } from '../sync/channel-sync';

/** A line as the channel names it. */
export interface ChannelLine {
  lineId: string;
  channelSku: string;
  quantity: number;
}

/** What a webhook, notification or poll says happened to a channel order. */
export type ChannelOrderEvent =
  | { kind: 'placed'; channelOrderId: string; orderRef?: string; lines: ChannelLine[] }
  | { kind: 'fulfilled'; channelOrderId: string; orderRef?: string; lines: ChannelLine[] }
  | { kind: 'cancelled'; channelOrderId: string; reason?: string }
  /** Units refunded; `beforeFulfilment` (restock type cancel) means they will never ship. */
  | { kind: 'refunded'; channelOrderId: string; refundId: string; lines: { lineId: string; quantity: number; beforeFulfilment: boolean }[] };

export type IntakeResult = 'held' | 'committed' | 'cancelled' | 'refused' | 'duplicate' | 'unmapped' | 'conflict' | 'recorded' | 'ignored';

export interface OrderIntakeOptions {
  channel: string;
  /** Order ids are `<prefix>-<channel order id>`: `shopify-…`, `amazon-…`, `flipkart-…`. */
  prefix: string;
  ledger: LedgerClient;
  store: SyncStateStore;
  listings: ListingCatalog;
  /** Told of each hold, so what the channel shows drops with the sale it made itself. */
  sync?: ChannelSync;
  ttlSeconds?: number;
  metrics?: ConnectorMetrics;
  logger?: LoggerService;
  now?: () => number;
}

/**
 * Passes channel orders to the ledger's multi-line order API: a placed order holds its lines, a
 * fulfilment commits them (holding first if the placement never arrived), a cancellation releases
 * them. Ids derive from the channel's ids and the connector records each order's state, so a
 * redelivered webhook, a re-polled order or one arriving out of order changes nothing twice. An order
 * the ledger refuses for stock is counted and logged: a cancellation the seller must handle.
 */
export class OrderIntake {
  private readonly metrics: ConnectorMetrics;
  private readonly logger: LoggerService;
  private readonly now: () => number;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly options: OrderIntakeOptions) {
    this.metrics = options.metrics ?? new ConnectorMetrics(options.channel, false);
    this.logger = options.logger ?? new Logger(`Orders:${options.channel}`);
    this.now = options.now ?? Date.now;
  }

  orderId(channelOrderId: string): string {
    return `${this.options.prefix}-${channelOrderId}`;
  }

  /** Handles one event; events of one order run one at a time. */
  handle(event: ChannelOrderEvent): Promise<IntakeResult> {
    const orderId = this.orderId(event.channelOrderId);
    const previous = this.locks.get(orderId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.decide(orderId, event));
    this.locks.set(orderId, next);
    void next.finally(() => this.locks.get(orderId) === next && this.locks.delete(orderId)).catch(() => undefined);
    return next;
  }

  private async decide(orderId: string, event: ChannelOrderEvent): Promise<IntakeResult> {
    const local = this.options.store.order(orderId);
    switch (event.kind) {
      case 'placed':
        if (local) return this.count('hold', 'duplicate');
        return this.hold(orderId, event.lines, event.orderRef);
      case 'fulfilled': {
        if (local?.status === 'committed') return this.count('commit', 'duplicate');
        if (local?.status === 'cancelled' || local?.status === 'refused') {
          this.logger.warn(`${orderId} fulfilled on ${this.options.channel} but ${local.status} in the ledger: nothing to commit`);
          return this.count('commit', 'ignored');
        }
        if (!local) await this.hold(orderId, event.lines, event.orderRef);
        const held = local ?? this.options.store.order(orderId);
        if (!held || held.status !== 'held') return held?.status === 'refused' ? 'refused' : 'unmapped';
        return this.commit(held);
      }
      case 'cancelled': {
        if (local?.status === 'cancelled') return this.count('cancel', 'duplicate');
        if (local?.status === 'committed') {
          this.logger.warn(`${orderId} cancelled after it was committed: units come back as a return`);
          return this.count('cancel', 'ignored');
        }
        // Recorded even when the order never reached us, so a late placement is not held.
        const answer = local?.status === 'refused' ? null : await this.options.ledger.cancelOrder(orderId, event.reason);
        if (answer && answer.outcome !== 'ok' && answer.status !== 404) return this.conflict('cancel', orderId, answer);
        this.save({ orderId, status: 'cancelled', lines: local?.lines ?? [], refunded: local?.refunded ?? {} });
        return this.count('cancel', 'cancelled');
      }
      case 'refunded': {
        if (!this.options.store.remember(`refund:${orderId}:${event.refundId}`, this.now())) return this.count('refund', 'duplicate');
        if (!local || local.status !== 'held') {
          if (local?.status === 'committed') this.logger.log(`${orderId}: refund ${event.refundId} after fulfilment; the units come back through the returns API`);
          return this.count('refund', 'recorded');
        }
        const refunded = { ...local.refunded };
        for (const line of event.lines) if (line.beforeFulfilment) refunded[line.lineId] = (refunded[line.lineId] ?? 0) + line.quantity;
        this.save({ ...local, refunded });
        if (local.lines.every((line) => (refunded[line.lineId] ?? 0) >= line.quantity)) {
          return this.decide(orderId, { kind: 'cancelled', channelOrderId: event.channelOrderId, reason: 'refunded before fulfilment' });
        }
        return this.count('refund', 'recorded');
      }
    }
  }

  private async hold(orderId: string, channelLines: ChannelLine[], orderRef?: string): Promise<IntakeResult> {
    const lines: OrderLine[] = [];
    for (const line of channelLines) {
      const listing = this.options.listings.forChannelSku(line.channelSku);
      if (!listing) {
        this.logger.warn(`${orderId} line ${line.lineId}: no listing on ${this.options.channel} for channel SKU ${line.channelSku}; not held`);
        continue;
      }
      if (line.quantity > 0) lines.push({ lineId: line.lineId, sku: listing.sku, quantity: line.quantity });
    }
    if (lines.length === 0) return this.count('hold', 'unmapped');
    const answer = await this.options.ledger.createOrder({ orderId, channel: this.options.channel, lines, ttlSeconds: this.options.ttlSeconds, orderRef });
    if (answer.outcome === 'refused') {
      this.save({ orderId, status: 'refused', lines, refunded: {} });
      this.metrics.refusedOrders.inc({ channel: this.options.channel });
      this.logger.error(`${this.options.channel} order ${orderId} refused by the ledger (${answer.code}): ${answer.message} ${JSON.stringify(answer.details)}; cancel it on the channel`);
      return this.count('hold', 'refused');
    }
    if (answer.outcome !== 'ok') return this.conflict('hold', orderId, answer);
    const status = answer.body.status === 'committed' ? 'committed' : answer.body.status === 'cancelled' || answer.body.status === 'released' ? 'cancelled' : 'held';
    this.save({ orderId, status, lines, refunded: {} });
    // The channel took these units off its own count when it sold them.
    for (const line of lines) this.options.sync?.noteChannelSale(line.sku, line.quantity);
    return this.count('hold', 'held');
  }

  private async commit(order: OrderRecord): Promise<IntakeResult> {
    const partial = order.lines.some((line) => (order.refunded[line.lineId] ?? 0) > 0);
    const lines = partial ? order.lines.map((line) => ({ lineId: line.lineId, quantity: Math.max(0, line.quantity - (order.refunded[line.lineId] ?? 0)) })) : undefined;
    const answer = await this.options.ledger.commitOrder(order.orderId, lines);
    if (answer.outcome !== 'ok') return this.conflict('commit', order.orderId, answer);
    this.save({ ...order, status: 'committed' });
    return this.count('commit', 'committed');
  }

  private conflict(action: string, orderId: string, answer: OrderAnswer): IntakeResult {
    if (answer.outcome !== 'ok') this.logger.error(`${action} of ${orderId}: the ledger answered ${answer.status} ${answer.code}: ${answer.message}`);
    return this.count(action, 'conflict');
  }

  private save(order: Omit<OrderRecord, 'updatedAt'>): void {
    this.options.store.saveOrder({ ...order, updatedAt: this.now() });
  }

  private count(action: string, outcome: IntakeResult): IntakeResult {
    this.metrics.orders.inc({ channel: this.options.channel, action, outcome });
    return outcome;
  }
}
