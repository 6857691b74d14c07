import type { ChannelOrderEvent } from './order-intake';

/** An ORDER_CHANGE notification: its id (for duplicates) and what it means for the order. */
export interface AmazonNotification {
  notificationId: string;
  event: ChannelOrderEvent | null;
}

const OPEN = new Set(['Pending', 'Unshipped', 'PartiallyShipped', 'InvoiceUnconfirmed']);

/**
 * Reads an ORDER_CHANGE notification as SP-API delivers it through SQS: the SQS message body is the
 * notification JSON; an SQS message object (`Body`) or an SNS envelope (`Message`) around it is
 * unwrapped. Null when it is not an ORDER_CHANGE notification.
 */
export function parseAmazonNotification(raw: unknown): AmazonNotification | null {
  let value: any = raw;
  for (let depth = 0; depth < 3 && value && typeof value === 'object' && !value.NotificationType; depth++) {
    const inner = value.Body ?? value.body ?? value.Message;
    if (typeof inner !== 'string') break;
    try {
      value = JSON.parse(inner);
    } catch {
      return null;
    }
  }
  if (!value || value.NotificationType !== 'ORDER_CHANGE') return null;
  const notificationId = value.NotificationMetadata?.NotificationId;
  const change = value.Payload?.OrderChangeNotification;
  if (typeof notificationId !== 'string' || !change?.AmazonOrderId || !change.Summary) return null;
  const status: string = change.Summary.OrderStatus;
  const lines = ((change.Summary.OrderItems ?? []) as { OrderItemId: string; SellerSKU: string; Quantity: number }[])
    .filter((item) => item?.OrderItemId && item.SellerSKU)
    .map((item) => ({ lineId: String(item.OrderItemId), channelSku: item.SellerSKU, quantity: Number(item.Quantity) || 0 }));
  const channelOrderId = String(change.AmazonOrderId);
  let event: ChannelOrderEvent | null = null;
  if (change.OrderChangeType === 'OrderStatusChange' || change.OrderChangeType === undefined) {
    if (OPEN.has(status)) event = { kind: 'placed', channelOrderId, orderRef: channelOrderId, lines };
    else if (status === 'Shipped') event = { kind: 'fulfilled', channelOrderId, orderRef: channelOrderId, lines };
    else if (status === 'Canceled') event = { kind: 'cancelled', channelOrderId, reason: change.OrderChangeTrigger?.ChangeReason };
  }
  return { notificationId, event };
}
