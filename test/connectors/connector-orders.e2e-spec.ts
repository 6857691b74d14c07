import { Connector, type Listing } from '@ledger/connector';
import { AmazonFake, FakeLedger, FlipkartFake, sendShopifyWebhook, ShopifyFake } from '../support/channel-fakes';
import { connectorConfig, eventually, quietLogger, tempDir } from './support';

const SECRET = 'shopify-app-secret';

async function shopifySetup(dataDir: string, existing?: { shopify: ShopifyFake; ledger: FakeLedger }) {
  const shopify = existing?.shopify ?? (await new ShopifyFake().start());
  const ledger = existing?.ledger ?? (await new FakeLedger().start());
  const listings: Listing[] = [
    { sku: 'TEE-M', externalId: '101', channelSku: 'SHOP-TEE-M', locationId: '77' },
    { sku: 'CAP', externalId: '102', channelSku: 'SHOP-CAP', locationId: '77' },
  ];
  if (!existing) {
    for (const listing of listings) shopify.addLevel(listing.externalId, '77', 0);
    ledger.setListings('web', listings);
  }
  const connector = await Connector.start(
    connectorConfig({ channel: 'web', kind: 'shopify', ledgerUrl: ledger.url, dataDir, shopify: { adminUrl: shopify.url, accessToken: 'shpat_test', apiVersion: '2026-01', webhookSecret: SECRET, batchSize: 100 } }),
    { logger: quietLogger },
  );
  return { shopify, ledger, connector, listings };
}

const order = (id: number, lines: { id: number; sku: string; quantity: number }[]) => ({ id, name: `#${id}`, line_items: lines.map((line) => ({ id: line.id, sku: line.sku, quantity: line.quantity, variant_id: 1 })) });

describe('orders in, and the channel selling by itself', () => {
  it("Shopify's own sale is never overwritten upward, and its order reaches the ledger once however often it is delivered", async () => {
    const dir = tempDir();
    const { shopify, ledger, connector } = await shopifySetup(dir.path);
    const hook = `${connector.url}/webhooks/shopify`;
    try {
      ledger.setStock('TEE-M', 10);
      ledger.change('web', 'TEE-M', 10);
      await eventually(() => shopify.level('101', '77').available === 10);
      await connector.sync.idle();
      // Shopify sells 3; a receipt raises the ledger's count to 15 before the order arrives.
      shopify.sell('101', '77', 3);
      ledger.change('web', 'TEE-M', 15);
      await eventually(() => connector.store.state('TEE-M')?.desired.available === 15);
      await connector.sync.idle();
      expect(shopify.level('101', '77')).toMatchObject({ available: 7, committed: 3 });
      // The order webhook: held once, whatever the redeliveries.
      const payload = order(9001, [{ id: 1, sku: 'SHOP-TEE-M', quantity: 3 }]);
      expect((await sendShopifyWebhook(hook, 'orders/create', payload, SECRET, 'event-1')).status).toBe(200);
      expect(await (await sendShopifyWebhook(hook, 'orders/create', payload, SECRET, 'event-1')).json()).toEqual({ outcome: 'duplicate' });
      expect(await (await sendShopifyWebhook(hook, 'orders/create', payload, SECRET, 'event-2')).json()).toEqual({ outcome: 'duplicate' });
      expect(ledger.orders.get('shopify-9001')).toMatchObject({ status: 'held', lines: [{ lineId: '1', sku: 'TEE-M', quantity: 3 }] });
      expect(ledger.calls.filter((call) => call.path === '/v1/orders')).toHaveLength(1);
      // The ledger counts it: 12 left; Shopify gets exactly that, from what it shows.
      ledger.change('web', 'TEE-M', 12);
      await eventually(() => connector.store.state('TEE-M')?.desired.available === 12);
      await connector.sync.idle();
      expect(shopify.level('101', '77')).toMatchObject({ available: 12, committed: 3 });
      // Fulfilment commits; a late, out-of-order create changes nothing.
      expect(await (await sendShopifyWebhook(hook, 'orders/fulfilled', payload, SECRET, 'event-3')).json()).toEqual({ outcome: 'committed' });
      expect(await (await sendShopifyWebhook(hook, 'orders/create', payload, SECRET, 'event-4')).json()).toEqual({ outcome: 'duplicate' });
      expect(ledger.orders.get('shopify-9001')?.status).toBe('committed');
      // A cancellation that arrives before its order: the late order is not held.
      expect(await (await sendShopifyWebhook(hook, 'orders/cancelled', { id: 9002 }, SECRET, 'event-5')).json()).toEqual({ outcome: 'cancelled' });
      expect(await (await sendShopifyWebhook(hook, 'orders/create', order(9002, [{ id: 2, sku: 'SHOP-TEE-M', quantity: 1 }]), SECRET, 'event-6')).json()).toEqual({ outcome: 'duplicate' });
      expect(ledger.orders.has('shopify-9002')).toBe(false);
      // A bad signature is refused and changes nothing.
      expect((await sendShopifyWebhook(hook, 'orders/create', order(9003, [{ id: 3, sku: 'SHOP-CAP', quantity: 1 }]), SECRET, 'event-7', { tamper: true })).status).toBe(401);
      expect(ledger.orders.has('shopify-9003')).toBe(false);
    } finally {
      await connector.stop();
      await Promise.all([shopify.close(), ledger.close()]);
      dir.remove();
    }
  });

  it('counts and logs an order the ledger refuses; a refund before fulfilment cancels it; a ledger outage is redelivered', async () => {
    const dir = tempDir();
    const { shopify, ledger, connector } = await shopifySetup(dir.path);
    const hook = `${connector.url}/webhooks/shopify`;
    try {
      ledger.setStock('CAP', 1);
      expect(await (await sendShopifyWebhook(hook, 'orders/create', order(7001, [{ id: 11, sku: 'SHOP-CAP', quantity: 2 }]), SECRET)).json()).toEqual({ outcome: 'refused' });
      expect((await connector.metrics.refusedOrders.get()).values[0].value).toBe(1);
      // The ledger is down for a while: the webhook is answered 503 only if its retries run out; here they do not.
      ledger.unavailable = 2;
      expect(await (await sendShopifyWebhook(hook, 'orders/create', order(7002, [{ id: 12, sku: 'SHOP-CAP', quantity: 1 }]), SECRET)).json()).toEqual({ outcome: 'held' });
      expect(ledger.stockOf('CAP')).toBe(0);
      const refund = { id: 55, order_id: 7002, refund_line_items: [{ id: 1, line_item_id: 12, quantity: 1, restock_type: 'cancel' }] };
      expect(await (await sendShopifyWebhook(hook, 'refunds/create', refund, SECRET)).json()).toEqual({ outcome: 'cancelled' });
      expect(await (await sendShopifyWebhook(hook, 'refunds/create', refund, SECRET)).json()).toEqual({ outcome: 'duplicate' });
      expect(ledger.orders.get('shopify-7002')?.status).toBe('cancelled');
      expect(ledger.stockOf('CAP')).toBe(1);
    } finally {
      await connector.stop();
      await Promise.all([shopify.close(), ledger.close()]);
      dir.remove();
    }
  });

  it('a connector killed and restarted loses no update and repeats none that matter', async () => {
    const dir = tempDir();
    let setup = await shopifySetup(dir.path);
    const { shopify, ledger } = setup;
    try {
      for (let index = 1; index <= 20; index++) ledger.change('web', index % 2 ? 'TEE-M' : 'CAP', index);
      await eventually(() => setup.connector.store.state('CAP')?.desired.available === 20);
      await setup.connector.sync.idle();
      const mutationsBefore = shopify.stats.mutations;
      await setup.connector.stop();
      // Changes while the connector is down come from the stream's backlog (Last-Event-ID) on restart.
      ledger.change('web', 'TEE-M', 33);
      ledger.change('web', 'CAP', 44);
      setup = await shopifySetup(dir.path, { shopify, ledger });
      await eventually(() => setup.connector.store.state('CAP')?.desired.available === 44);
      await setup.connector.sync.idle();
      expect([shopify.level('101', '77').available, shopify.level('102', '77').available]).toEqual([33, 44]);
      // Only the two new counts were pushed: one call, nothing before the stop sent again.
      expect(shopify.stats.mutations - mutationsBefore).toBe(1);
    } finally {
      await setup.connector.stop();
      await Promise.all([shopify.close(), ledger.close()]);
      dir.remove();
    }
  });

  it('Amazon ORDER_CHANGE notifications as delivered through SQS hold, ship and cancel, each once', async () => {
    const dir = tempDir();
    const amazon = await new AmazonFake().start();
    const ledger = await new FakeLedger().start();
    ledger.setListings('amazon-in', [{ sku: 'TEE-M', externalId: 'AMZ-TEE-M', channelSku: 'AMZ-TEE-M', marketplaceId: 'A21TJRUUN4KGV', productType: 'SHIRT' }]);
    ledger.setStock('TEE-M', 5);
    const connector = await Connector.start(
      connectorConfig({
        channel: 'amazon-in',
        kind: 'amazon',
        ledgerUrl: ledger.url,
        dataDir: dir.path,
        amazon: { spApiUrl: amazon.url, sellerId: amazon.sellerId, marketplaceId: 'A21TJRUUN4KGV', lwaUrl: amazon.lwaUrl, clientId: 'amzn1.application-oa2-client.test', clientSecret: 'amzn-secret', refreshToken: 'Atzr|refresh', feedThreshold: 50, feedsPerWindow: 5, feedWindowMs: 300_000, patchRate: { ratePerSecond: 4, burst: 4 }, settleMs: 0 },
      }),
      { logger: quietLogger },
    );
    const notify = (id: string, status: string) =>
      fetch(`${connector.url}/webhooks/amazon`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          MessageId: `sqs-${id}`,
          Body: JSON.stringify({
            NotificationVersion: '1.0',
            NotificationType: 'ORDER_CHANGE',
            PayloadVersion: '1.0',
            EventTime: new Date().toISOString(),
            Payload: { OrderChangeNotification: { NotificationLevel: 'OrderLevel', SellerId: amazon.sellerId, AmazonOrderId: '408-1234567-1234567', OrderChangeType: 'OrderStatusChange', OrderChangeTrigger: { TimeOfOrderChange: new Date().toISOString(), ChangeReason: 'Order status changed' }, Summary: { MarketplaceId: 'A21TJRUUN4KGV', OrderStatus: status, PurchaseDate: new Date().toISOString(), DestinationPostalCode: '560001', FulfillmentType: 'MFN', OrderType: 'StandardOrder', OrderItems: [{ OrderItemId: 'OI-1', SellerSKU: 'AMZ-TEE-M', SupplySourceId: 'x', Quantity: 2 }] } } },
            NotificationMetadata: { ApplicationId: 'app', SubscriptionId: 'sub', PublishTime: new Date().toISOString(), NotificationId: id },
          }),
        }),
      }).then((response) => response.json());
    try {
      expect(await notify('n-1', 'Unshipped')).toEqual({ outcome: 'held' });
      expect(await notify('n-1', 'Unshipped')).toEqual({ outcome: 'duplicate' });
      expect(await notify('n-2', 'Unshipped')).toEqual({ outcome: 'duplicate' });
      expect(await notify('n-3', 'Shipped')).toEqual({ outcome: 'committed' });
      expect(ledger.orders.get('amazon-408-1234567-1234567')).toMatchObject({ status: 'committed', lines: [{ lineId: 'OI-1', sku: 'TEE-M', quantity: 2 }] });
      expect(ledger.stockOf('TEE-M')).toBe(3);
    } finally {
      await connector.stop();
      await Promise.all([amazon.close(), ledger.close()]);
      dir.remove();
    }
  });

  it('Flipkart shipments polled: held, dispatched and cancelled once, however often re-polled', async () => {
    const dir = tempDir();
    const flipkart = await new FlipkartFake({ pageSize: 2 }).start();
    const ledger = await new FakeLedger().start();
    ledger.setListings('flipkart', [{ sku: 'TEE-M', externalId: 'FSN0000000000001', channelSku: 'FK-TEE-M', locationId: 'LOC1' }]);
    flipkart.addListing('FK-TEE-M', 'FSN0000000000001', 'LOC1', 10);
    ledger.setStock('TEE-M', 10);
    const connector = await Connector.start(
      connectorConfig({ channel: 'flipkart', kind: 'flipkart', ledgerUrl: ledger.url, dataDir: dir.path, flipkart: { apiUrl: flipkart.url, clientId: 'fk-app', clientSecret: 'fk-secret', pollIntervalMs: 50, rate: { ratePerSecond: 50, burst: 10 } } }),
      { logger: quietLogger },
    );
    try {
      const shipments = [1, 2, 3].map(() => flipkart.placeOrder([{ sku: 'FK-TEE-M', quantity: 1, locationId: 'LOC1' }]));
      await eventually(() => ledger.orders.size === 3, 10_000, 'three holds');
      flipkart.dispatch(shipments[0].shipmentId);
      flipkart.cancel(shipments[1].shipmentId);
      await eventually(() => ledger.orders.get(`flipkart-${shipments[0].shipmentId}`)?.status === 'committed' && ledger.orders.get(`flipkart-${shipments[1].shipmentId}`)?.status === 'cancelled', 10_000, 'commit and cancel');
      const searches = flipkart.stats.searches;
      await eventually(() => flipkart.stats.searches >= searches + 10, 10_000, 'more polls');
      expect(ledger.calls.filter((call) => call.path === '/v1/orders')).toHaveLength(3);
      expect(ledger.stockOf('TEE-M')).toBe(8);
    } finally {
      await connector.stop();
      await Promise.all([flipkart.close(), ledger.close()]);
      dir.remove();
    }
  });
});
