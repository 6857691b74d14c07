import type { ServerResponse } from 'node:http';
import type { Listing } from '@ledger/connector';
import { startFakeServer, type FakeRequest, type FakeResponse, type FakeServer } from './fake-server';

/**
 * A small stand-in for the ledger's side of the connector contract, for what the ledger does not
 * serve yet: `GET /v1/channels/:channel/listings` (paged) and the multi-line order API of issue #15
 * (`POST /v1/orders`, `/commit`, `/cancel`, idempotent by orderId, 409 INSUFFICIENT_STOCK with
 * details.lines, 409 IDEMPOTENCY_CONFLICT). It also serves one channel's availability (paged, and as
 * the SSE stream with Last-Event-ID) so connector tests can drive counts directly.
 */
export class FakeLedger {
  readonly orders = new Map<string, { request: string; status: string; lines: { lineId: string; sku: string; quantity: number }[]; answer: { status: number; body: any } }>();
  readonly calls: { method: string; path: string; body: any }[] = [];
  /** Answer the next this many order calls with 503 (Retry-After: 0). */
  unavailable = 0;
  private server: FakeServer | null = null;
  private readonly listings = new Map<string, Listing[]>();
  private readonly counts = new Map<string, Map<string, { available: number; revision: number; position: number }>>();
  private readonly log: { channel: string; sku: string; available: number; revision: number; position: number }[] = [];
  private readonly streams = new Set<{ channel: string; response: ServerResponse }>();
  private readonly stock = new Map<string, number>();
  private position = 0;
  /** Changes at or before this position are pruned from the stream's backlog. */
  prunedThrough = 0;

  constructor(private readonly token: string | null = null) {}

  get url(): string {
    return this.server!.url;
  }

  async start(): Promise<this> {
    this.server = await startFakeServer((request, reply) => this.handle(request, reply.raw));
    return this;
  }

  async close(): Promise<void> {
    for (const stream of this.streams) stream.response.destroy();
    await this.server?.close();
  }

  setListings(channel: string, listings: Listing[]): void {
    this.listings.set(channel, listings);
  }

  /** Units the order API may hold per SKU (shared by all channels). */
  setStock(sku: string, units: number): void {
    this.stock.set(sku, units);
  }

  stockOf(sku: string): number {
    return this.stock.get(sku) ?? 0;
  }

  /** A new count for a channel's SKU at the next ledger position, streamed to followers. */
  change(channel: string, sku: string, available: number): number {
    const counts = this.counts.get(channel) ?? new Map();
    this.counts.set(channel, counts);
    const revision = (counts.get(sku)?.revision ?? -1) + 1;
    this.position += 1;
    const entry = { available, revision, position: this.position };
    counts.set(sku, entry);
    const change = { channel, sku, ...entry };
    this.log.push(change);
    for (const stream of this.streams) if (stream.channel === channel) this.send(stream.response, change);
    return this.position;
  }

  count(channel: string, sku: string): number | undefined {
    return this.counts.get(channel)?.get(sku)?.available;
  }

  /** Drops open streams (a ledger restart, a network cut). */
  dropStreams(): void {
    for (const stream of this.streams) stream.response.destroy();
    this.streams.clear();
  }

  private send(response: ServerResponse, change: { channel: string; sku: string; available: number; revision: number; position: number }): void {
    response.write(`id: ${change.position}\nevent: availability\ndata: ${JSON.stringify({ ...change, updatedAt: new Date().toISOString() })}\n\n`);
  }

  private page<T extends { sku: string }>(items: T[], request: FakeRequest): FakeResponse {
    const limit = Math.min(Number(request.query.get('limit') ?? 500), 1000);
    const cursor = request.query.get('cursor') ?? '';
    const sorted = [...items].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0)).filter((item) => item.sku > cursor);
    const page = sorted.slice(0, limit);
    return { status: 200, body: { items: page, nextCursor: sorted.length > limit ? page[page.length - 1].sku : null } };
  }

  private handle(request: FakeRequest, raw: ServerResponse): FakeResponse | null {
    if (this.token && request.headers.authorization !== `Bearer ${this.token}`) return { status: 401, body: { code: 'UNAUTHORIZED', message: 'a token is required' } };
    const listings = /^\/v1\/channels\/([^/]+)\/listings$/.exec(request.path);
    if (listings && request.method === 'GET') return this.page(this.listings.get(decodeURIComponent(listings[1])) ?? [], request);
    const availability = /^\/v1\/channels\/([^/]+)\/availability$/.exec(request.path);
    if (availability && request.method === 'GET') {
      const channel = decodeURIComponent(availability[1]);
      return this.page([...(this.counts.get(channel) ?? new Map()).entries()].map(([sku, count]) => ({ sku, ...count, updatedAt: '' })), request);
    }
    if (request.path === '/v1/availability/stream' && request.method === 'GET') return this.stream(request, raw);
    if (request.path.startsWith('/v1/orders')) {
      this.calls.push({ method: request.method, path: request.path, body: request.json });
      if (this.unavailable > 0) {
        this.unavailable -= 1;
        return { status: 503, headers: { 'Retry-After': '0' }, body: { code: 'UNAVAILABLE', message: 'store unreachable' } };
      }
      if (request.path === '/v1/orders' && request.method === 'POST') return this.createOrder(request.json);
      const action = /^\/v1\/orders\/([^/]+)\/(commit|cancel)$/.exec(request.path);
      if (action && request.method === 'POST') return this.act(decodeURIComponent(action[1]), action[2] as 'commit' | 'cancel', request.json ?? {});
    }
    return { status: 404, body: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.path}` } };
  }

  private stream(request: FakeRequest, response: ServerResponse): null {
    const channel = request.query.get('channel') ?? '';
    const lastEventId = request.headers['last-event-id'];
    response.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    response.write(': availability stream\n\n');
    if (typeof lastEventId === 'string') {
      const after = Number(lastEventId);
      if (after < this.prunedThrough) response.write(`event: resync\ndata: {"reason":"pruned"}\n\n`);
      else for (const change of this.log) if (change.position > after && change.channel === channel) this.send(response, change);
    }
    const stream = { channel, response };
    this.streams.add(stream);
    response.on('close', () => this.streams.delete(stream));
    return null;
  }

  private createOrder(body: any): FakeResponse {
    const { orderId, channel, lines } = body ?? {};
    if (typeof orderId !== 'string' || typeof channel !== 'string' || !Array.isArray(lines) || lines.length === 0) {
      return { status: 400, body: { code: 'VALIDATION_FAILED', message: 'orderId, channel and lines are required', details: {} } };
    }
    const request = JSON.stringify({ channel, lines, ttlSeconds: body.ttlSeconds ?? null, orderRef: body.orderRef ?? null });
    const existing = this.orders.get(orderId);
    if (existing) {
      if (existing.request !== request) return { status: 409, body: { code: 'IDEMPOTENCY_CONFLICT', message: `order ${orderId} exists with another payload`, details: {} } };
      return { status: existing.answer.status, body: { ...existing.answer.body, status: existing.status }, headers: { 'Idempotent-Replayed': 'true' } };
    }
    const short = lines.filter((line: any) => (this.stock.get(line.sku) ?? 0) < line.quantity);
    if (short.length) {
      return { status: 409, body: { code: 'INSUFFICIENT_STOCK', message: 'not enough stock for every line', details: { lines: short.map((line: any) => ({ lineId: line.lineId, sku: line.sku, requested: line.quantity, available: this.stock.get(line.sku) ?? 0 })) } } };
    }
    for (const line of lines) this.stock.set(line.sku, (this.stock.get(line.sku) ?? 0) - line.quantity);
    const answer = { status: 201, body: { orderId, status: 'held', expiresAt: new Date(Date.now() + 900_000).toISOString(), lines } };
    this.orders.set(orderId, { request, status: 'held', lines, answer });
    return answer;
  }

  private act(orderId: string, action: 'commit' | 'cancel', body: any): FakeResponse {
    const order = this.orders.get(orderId);
    if (!order) return { status: 404, body: { code: 'ORDER_NOT_FOUND', message: `no order ${orderId}`, details: {} } };
    const target = action === 'commit' ? 'committed' : 'cancelled';
    if (order.status === target) return { status: 200, body: { orderId, status: target } };
    if (order.status !== 'held') return { status: 409, body: { code: 'INVALID_STATE', message: `order ${orderId} is ${order.status}`, details: {} } };
    if (action === 'cancel') for (const line of order.lines) this.stock.set(line.sku, (this.stock.get(line.sku) ?? 0) + line.quantity);
    if (action === 'commit' && Array.isArray(body.lines)) {
      // Lines committed for fewer units give the rest back.
      for (const line of body.lines) {
        const held = order.lines.find((candidate) => candidate.lineId === line.lineId);
        if (held && line.quantity < held.quantity) this.stock.set(held.sku, (this.stock.get(held.sku) ?? 0) + held.quantity - line.quantity);
      }
    }
    order.status = target;
    return { status: 200, body: { orderId, status: target } };
  }
}
