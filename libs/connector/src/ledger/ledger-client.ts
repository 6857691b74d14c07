import { Logger, type LoggerService } from '@nestjs/common';
import { listingFrom, type Listing } from '../listings';
import { errorForStatus, fetchOrTransient, readJson, withRetries, type HttpCallOptions } from '../http/retry';
import type { AvailabilityUpdate } from '../sync/channel-sync';

/** One line of a multi-line order: the ledger SKU and how many units. */
export interface OrderLine {
  lineId: string;
  sku: string;
  quantity: number;
}

/** `POST /v1/orders` of the orders API (issue #15). */
export interface CreateOrderRequest {
  orderId: string;
  channel: string;
  lines: OrderLine[];
  ttlSeconds?: number;
  orderRef?: string;
}

/** What the ledger answered to an order action. */
export type OrderAnswer =
  | { outcome: 'ok'; status: number; body: Record<string, unknown> }
  /** 409 INSUFFICIENT_STOCK: the ledger cannot hold the lines; `details.lines` says which. */
  | { outcome: 'refused'; status: 409; code: string; message: string; details: Record<string, unknown> }
  /** Another 409 (IDEMPOTENCY_CONFLICT, INVALID_STATE) or 404: nothing changed, the caller decides. */
  | { outcome: 'conflict'; status: number; code: string; message: string; details: Record<string, unknown> };

export interface LedgerClientOptions {
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>` (a service token). */
  token?: string | null;
  fetch?: typeof fetch;
  retry?: HttpCallOptions;
  logger?: LoggerService;
}

/**
 * The ledger's HTTP API as a connector uses it: listings and availability pages, and the multi-line
 * order API (hold, commit, cancel; idempotent by orderId). 503 (with Retry-After), 429, other 5xx and
 * network errors are retried; other answers come back to the caller.
 */
export class LedgerClient {
  private readonly fetch: typeof fetch;
  private readonly logger: LoggerService;
  private readonly base: string;

  constructor(private readonly options: LedgerClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.logger = options.logger ?? new Logger(LedgerClient.name);
    this.base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
  }

  /** Every listing of a channel (`GET /v1/channels/:channel/listings`, paged by cursor). */
  async listings(channel: string, limit = 500): Promise<Listing[]> {
    const listings: Listing[] = [];
    for await (const items of this.pages(`v1/channels/${encodeURIComponent(channel)}/listings`, limit)) {
      for (const item of items) {
        const listing = listingFrom(item);
        if (listing) listings.push(listing);
        else this.logger.warn(`ignored a listing of ${channel} without sku or externalId: ${JSON.stringify(item)}`);
      }
    }
    return listings;
  }

  /** The channel's counts page by page (`GET /v1/channels/:channel/availability`): a full resync. */
  async *availability(channel: string, limit = 500): AsyncGenerator<AvailabilityUpdate[]> {
    for await (const items of this.pages(`v1/channels/${encodeURIComponent(channel)}/availability`, limit)) {
      yield items
        .filter((item) => typeof item.sku === 'string' && [item.available, item.revision, item.position].every(Number.isFinite))
        .map((item) => ({ sku: item.sku as string, available: item.available as number, revision: item.revision as number, position: item.position as number }));
    }
  }

  createOrder(request: CreateOrderRequest): Promise<OrderAnswer> {
    return this.orderCall('POST', 'v1/orders', request);
  }

  commitOrder(orderId: string, lines?: { lineId: string; quantity: number }[]): Promise<OrderAnswer> {
    return this.orderCall('POST', `v1/orders/${encodeURIComponent(orderId)}/commit`, lines ? { lines } : {});
  }

  cancelOrder(orderId: string, reason?: string): Promise<OrderAnswer> {
    return this.orderCall('POST', `v1/orders/${encodeURIComponent(orderId)}/cancel`, reason ? { reason } : {});
  }

  private headers(json: boolean): Record<string, string> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (json) headers['Content-Type'] = 'application/json';
    if (this.options.token) headers.Authorization = `Bearer ${this.options.token}`;
    return headers;
  }

  private async *pages(path: string, limit: number): AsyncGenerator<Record<string, unknown>[]> {
    let cursor: string | null = '';
    while (cursor !== null) {
      const url = new URL(path, this.base);
      url.searchParams.set('limit', String(limit));
      if (cursor) url.searchParams.set('cursor', cursor);
      const page = await withRetries(async () => {
        const response = await fetchOrTransient(this.fetch, url, { headers: this.headers(false) }, `GET ${url.pathname}`);
        const body = await readJson(response);
        if (!response.ok) throw errorForStatus(`GET ${url.pathname}`, response, body);
        return body as { items: Record<string, unknown>[]; nextCursor: string | null };
      }, this.retryOptions());
      yield page.items ?? [];
      cursor = page.nextCursor ?? null;
    }
  }

  private orderCall(method: string, path: string, body: unknown): Promise<OrderAnswer> {
    const url = new URL(path, this.base);
    return withRetries(async () => {
      const response = await fetchOrTransient(this.fetch, url, { method, headers: this.headers(true), body: JSON.stringify(body) }, `${method} ${url.pathname}`);
      const answer = ((await readJson(response)) ?? {}) as Record<string, unknown>;
      if (response.ok) return { outcome: 'ok', status: response.status, body: answer };
      if (response.status === 409 || response.status === 404 || response.status === 400 || response.status === 422) {
        const code = String(answer.code ?? response.status);
        const detail = { status: response.status, code, message: String(answer.message ?? ''), details: (answer.details as Record<string, unknown>) ?? {} };
        return code === 'INSUFFICIENT_STOCK' ? { outcome: 'refused', ...detail, status: 409 } : { outcome: 'conflict', ...detail };
      }
      throw errorForStatus(`${method} ${url.pathname}`, response, answer);
    }, this.retryOptions());
  }

  private retryOptions(): HttpCallOptions {
    return {
      maxAttempts: 8,
      ...this.options.retry,
      onRetry: (problem, attempt, wait) => {
        this.logger.warn(`ledger: ${problem.message} (attempt ${attempt}); again in ${wait} ms`);
        this.options.retry?.onRetry?.(problem, attempt, wait);
      },
    };
  }
}
