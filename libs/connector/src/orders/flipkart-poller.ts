import { Logger, type LoggerService } from '@nestjs/common';
import type { FlipkartAdapter } from '../adapters/flipkart/flipkart-adapter';
import type { SyncStateStore } from '../state/sync-state-store';
import type { ChannelOrderEvent, OrderIntake } from './order-intake';

export interface FlipkartPollerOptions {
  api: Pick<FlipkartAdapter, 'request'>;
  intake: OrderIntake;
  store: SyncStateStore;
  channel: string;
  /** How far back each poll reaches before the last one, so nothing falls between two polls. Default 10 min. */
  overlapMs?: number;
  /** First poll of a fresh connector: this far back. Default 24 h. */
  initialLookbackMs?: number;
  pageSize?: number;
  logger?: LoggerService;
  now?: () => number;
}

const PRE_DISPATCH = ['APPROVED', 'PACKING_IN_PROGRESS', 'PACKED', 'FORM_FAILED', 'READY_TO_DISPATCH'];
const POST_DISPATCH = ['SHIPPED', 'DELIVERED', 'PICKUP_COMPLETE'];
const CANCELLATION_TYPES = ['sellerCancellation', 'buyerCancellation', 'marketplaceCancellation'];

interface Shipment {
  shipmentId: string;
  orderItems?: { orderItemId: string; orderId: string; sku: string; quantity: number; status?: string }[];
}

/**
 * Polls Flipkart shipments (`POST /sellers/v3/shipments/filter`, then `nextPageUrl` while `hasMore`):
 * pre-dispatch shipments hold their items, dispatched ones commit, cancelled ones release. One
 * shipment is one ledger order (`flipkart-<shipmentId>`, lines by orderItemId), the unit Flipkart
 * dispatches. Re-polled shipments change nothing: the intake knows each order's state.
 */
export class FlipkartShipmentPoller {
  private readonly logger: LoggerService;
  private readonly now: () => number;
  private failed = 0;

  constructor(private readonly options: FlipkartPollerOptions) {
    this.logger = options.logger ?? new Logger(`FlipkartPoller:${options.channel}`);
    this.now = options.now ?? Date.now;
  }

  /** One poll of the three views; returns how many shipments it passed on. */
  async poll(): Promise<number> {
    const cursorName = `flipkart-poll:${this.options.channel}`;
    const since = this.options.store.cursor(cursorName);
    const startedAt = this.now();
    const from = new Date((since ? Number(since) : startedAt - (this.options.initialLookbackMs ?? 86_400_000)) - (this.options.overlapMs ?? 600_000)).toISOString();
    const to = new Date(startedAt).toISOString();
    let seen = 0;
    for (const shipment of await this.search({ type: 'preDispatch', states: PRE_DISPATCH })) seen += await this.pass(shipment, 'placed');
    for (const shipment of await this.search({ type: 'postDispatch', states: POST_DISPATCH, modifiedDate: { from, to } })) seen += await this.pass(shipment, 'fulfilled');
    for (const cancellationType of CANCELLATION_TYPES) {
      for (const shipment of await this.search({ type: 'cancelled', states: ['CANCELLED'], cancellationType, cancellationDate: { from, to } })) seen += await this.pass(shipment, 'cancelled');
    }
    // A shipment the ledger could not take keeps the window where it is, so the next poll sees it again.
    if (this.failed === 0) this.options.store.setCursor(cursorName, String(startedAt));
    this.failed = 0;
    return seen;
  }

  private async search(filter: Record<string, unknown>): Promise<Shipment[]> {
    const shipments: Shipment[] = [];
    let page = await this.options.api.request('searchShipments', 'POST', '/sellers/v3/shipments/filter', { filter, pagination: { pageSize: this.options.pageSize ?? 20 } });
    for (;;) {
      shipments.push(...((page?.shipments ?? []) as Shipment[]));
      if (!page?.hasMore || !page.nextPageUrl) return shipments;
      const next = String(page.nextPageUrl);
      page = await this.options.api.request('searchShipments', 'GET', next.startsWith('/sellers') ? next : `/sellers${next.startsWith('/') ? '' : '/'}${next}`);
    }
  }

  private async pass(shipment: Shipment, kind: 'placed' | 'fulfilled' | 'cancelled'): Promise<number> {
    const items = shipment.orderItems ?? [];
    if (!shipment.shipmentId || items.length === 0) return 0;
    const lines = items.map((item) => ({ lineId: String(item.orderItemId), channelSku: item.sku, quantity: Number(item.quantity) || 0 }));
    const orderRef = items[0].orderId;
    const event: ChannelOrderEvent =
      kind === 'cancelled' ? { kind, channelOrderId: shipment.shipmentId, reason: 'cancelled on Flipkart' } : { kind, channelOrderId: shipment.shipmentId, orderRef, lines };
    try {
      await this.options.intake.handle(event);
      return 1;
    } catch (error) {
      this.failed += 1;
      this.logger.error(`Flipkart shipment ${shipment.shipmentId}: ${(error as Error).message}`);
      return 0;
    }
  }
}
