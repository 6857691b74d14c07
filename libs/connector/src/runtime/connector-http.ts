import { Logger, type LoggerService } from '@nestjs/common';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConnectorMetrics } from '../metrics';
import { parseAmazonNotification } from '../orders/amazon-notifications';
import type { OrderIntake } from '../orders/order-intake';
import { shopifyOrderEvent, verifyShopifyHmac } from '../orders/shopify-webhooks';
import type { SyncStateStore } from '../state/sync-state-store';

const MAX_BODY_BYTES = 1024 * 1024;

export interface ConnectorHttpOptions {
  channel: string;
  kind: string;
  metrics: ConnectorMetrics;
  store: SyncStateStore;
  intake: OrderIntake | null;
  shopifyWebhookSecret: string | null;
  adminToken: string | null;
  ready: () => { ready: boolean; detail: Record<string, unknown> };
  reconcile: () => Promise<unknown>;
  resync: () => Promise<unknown>;
  logger?: LoggerService;
}

class HttpProblem extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * The connector's own port: health, Prometheus metrics, the channel's webhooks (Shopify orders,
 * Amazon ORDER_CHANGE as delivered through SQS) and the admin actions. A webhook is answered 200 only
 * once the ledger took it, so the channel's redelivery covers a ledger outage; its id is remembered
 * after that, so a redelivery changes nothing.
 */
export class ConnectorHttpServer {
  private server: Server | null = null;
  private readonly logger: LoggerService;

  constructor(private readonly options: ConnectorHttpOptions) {
    this.logger = options.logger ?? new Logger(`ConnectorHttp:${options.channel}`);
  }

  async listen(port: number, host: string): Promise<string> {
    this.server = createServer((request, response) => {
      this.route(request, response).catch((error: unknown) => {
        const status = error instanceof HttpProblem ? error.status : 500;
        if (status >= 500) this.logger.error(`${request.method} ${request.url}: ${(error as Error).stack ?? error}`);
        send(response, status, { error: (error as Error).message });
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    const { metrics, channel } = this.options;
    if (request.method === 'GET' && path === '/health/live') return send(response, 200, { status: 'ok' });
    if (request.method === 'GET' && path === '/health/ready') {
      const { ready, detail } = this.options.ready();
      return send(response, ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready', channel, kind: this.options.kind, ...detail });
    }
    if (request.method === 'GET' && path === '/metrics') {
      response.writeHead(200, { 'Content-Type': metrics.registry.contentType });
      response.end(await metrics.registry.metrics());
      return;
    }
    if (request.method === 'POST' && path === '/webhooks/shopify') return this.shopify(request, response);
    if (request.method === 'POST' && path === '/webhooks/amazon') return this.amazon(request, response);
    if (request.method === 'POST' && (path === '/admin/reconcile' || path === '/admin/resync')) {
      if (!this.options.adminToken) throw new HttpProblem(404, 'admin routes are off (set CONNECTOR_ADMIN_TOKEN)');
      if (request.headers.authorization !== `Bearer ${this.options.adminToken}`) throw new HttpProblem(401, 'admin token required');
      await readBody(request);
      return send(response, 200, path === '/admin/reconcile' ? await this.options.reconcile() : { resynced: await this.options.resync() });
    }
    throw new HttpProblem(404, `no route ${request.method} ${path}`);
  }

  private async shopify(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const count = (outcome: string) => this.options.metrics.webhooks.inc({ channel: this.options.channel, source: 'shopify', outcome });
    if (!this.options.intake || this.options.shopifyWebhookSecret === null) throw new HttpProblem(404, 'this connector takes no Shopify webhooks');
    const raw = await readBody(request);
    if (!verifyShopifyHmac(raw, header(request, 'x-shopify-hmac-sha256'), this.options.shopifyWebhookSecret)) {
      count('bad_signature');
      throw new HttpProblem(401, 'X-Shopify-Hmac-Sha256 does not match the body');
    }
    const topic = header(request, 'x-shopify-topic') ?? '';
    // One merchant action can fire several topics with one event id: deduplicate per topic.
    const id = header(request, 'x-shopify-event-id') ?? header(request, 'x-shopify-webhook-id');
    const key = id ? `shopify:${topic}:${id}` : null;
    if (key && this.options.store.seen(key)) {
      count('duplicate');
      return send(response, 200, { outcome: 'duplicate' });
    }
    const event = shopifyOrderEvent(topic, parse(raw));
    if (!event) {
      count('ignored');
      return send(response, 200, { outcome: 'ignored' });
    }
    const outcome = await this.handle(event, () => count('failed'));
    if (key) this.options.store.remember(key, Date.now());
    count('handled');
    send(response, 200, { outcome });
  }

  private async amazon(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const count = (outcome: string) => this.options.metrics.webhooks.inc({ channel: this.options.channel, source: 'amazon', outcome });
    if (!this.options.intake || this.options.kind !== 'amazon') throw new HttpProblem(404, 'this connector takes no Amazon notifications');
    const notification = parseAmazonNotification(parse(await readBody(request)));
    if (!notification) {
      count('invalid');
      throw new HttpProblem(400, 'not an ORDER_CHANGE notification');
    }
    const key = `amazon:${notification.notificationId}`;
    if (this.options.store.seen(key)) {
      count('duplicate');
      return send(response, 200, { outcome: 'duplicate' });
    }
    const outcome = notification.event ? await this.handle(notification.event, () => count('failed')) : 'ignored';
    this.options.store.remember(key, Date.now());
    count('handled');
    send(response, 200, { outcome });
  }

  private async handle(event: Parameters<OrderIntake['handle']>[0], failed: () => void): Promise<string> {
    try {
      return await this.options.intake!.handle(event);
    } catch (error) {
      failed();
      // 503: the channel delivers it again later.
      throw new HttpProblem(503, `the ledger did not take it: ${(error as Error).message}`);
    }
  }
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function parse(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpProblem(400, 'the body is not JSON');
  }
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpProblem(413, 'body too large'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'Content-Type': 'application/json' });
  response.end(JSON.stringify(body));
}
