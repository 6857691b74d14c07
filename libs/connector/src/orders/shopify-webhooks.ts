import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ChannelOrderEvent } from './order-intake';

/** The topics the connector subscribes to. */
export const SHOPIFY_ORDER_TOPICS = ['orders/create', 'orders/fulfilled', 'orders/cancelled', 'refunds/create'] as const;

/** X-Shopify-Hmac-Sha256: base64 HMAC-SHA256 of the raw body keyed with the app's client secret, compared in constant time. */
export function verifyShopifyHmac(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  if (!header || !secret) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  const given = Buffer.from(header, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface ShopifyLineItem {
  id: number | string;
  sku?: string | null;
  quantity: number;
}

/**
 * Maps a Shopify webhook (REST resource payload) to an order event; null for a topic or payload the
 * connector does not act on.
 */
export function shopifyOrderEvent(topic: string, payload: any): ChannelOrderEvent | null {
  if (!payload || typeof payload !== 'object') return null;
  const lines = () =>
    ((payload.line_items ?? []) as ShopifyLineItem[])
      .filter((item) => item && item.id !== undefined && typeof item.sku === 'string' && item.sku)
      .map((item) => ({ lineId: String(item.id), channelSku: item.sku as string, quantity: Number(item.quantity) || 0 }));
  switch (topic) {
    case 'orders/create':
      return payload.id === undefined ? null : { kind: 'placed', channelOrderId: String(payload.id), orderRef: payload.name ?? undefined, lines: lines() };
    case 'orders/fulfilled':
      return payload.id === undefined ? null : { kind: 'fulfilled', channelOrderId: String(payload.id), orderRef: payload.name ?? undefined, lines: lines() };
    case 'orders/cancelled':
      return payload.id === undefined ? null : { kind: 'cancelled', channelOrderId: String(payload.id), reason: payload.cancel_reason ?? undefined };
    case 'refunds/create':
      if (payload.order_id === undefined || payload.id === undefined) return null;
      return {
        kind: 'refunded',
        channelOrderId: String(payload.order_id),
        refundId: String(payload.id),
        lines: ((payload.refund_line_items ?? []) as { line_item_id: number | string; quantity: number; restock_type?: string }[]).map((line) => ({
          lineId: String(line.line_item_id),
          quantity: Number(line.quantity) || 0,
          // restock_type "cancel": refunded before it shipped, the units never leave.
          beforeFulfilment: line.restock_type === 'cancel',
        })),
      };
    default:
      return null;
  }
}
