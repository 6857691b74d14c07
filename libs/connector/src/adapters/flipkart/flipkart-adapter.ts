import { Logger, type LoggerService } from '@nestjs/common';
import type { BatchPlan, ChannelAdapter, PushItem, PushOutcome } from '../../channel-adapter';
import { AdapterRejectedError, errorForStatus, fetchOrTransient, readJson, TransientChannelError, withRetries } from '../../http/retry';
import type { Listing } from '../../listings';
import { ConnectorMetrics } from '../../metrics';
import { TokenBucket } from '../../token-bucket';
import type { CachedAccessToken } from '../oauth-token';

export interface FlipkartAdapterOptions {
  /** e.g. https://api.flipkart.net */
  apiUrl: string;
  token: CachedAccessToken;
  channel: string;
  /** Flipkart publishes no rate limit; this keeps the connector polite. Default 5 requests/s, burst 5. */
  rate?: { ratePerSecond: number; burst: number };
  fetch?: typeof fetch;
  metrics?: ConnectorMetrics;
  logger?: LoggerService;
}

/** Flipkart takes at most 10 SKUs per inventory update and per listings read. */
export const FLIPKART_MAX_SKUS = 10;

type SkuResult = { status?: string; errors?: { severity?: string; code?: string; description?: string }[] };

/**
 * Flipkart Marketplace Seller API v3. `POST /sellers/listings/v3/update/inventory` with a map of the
 * seller SKU to `{product_id, locations: [{id, inventory}]}`, at most 10 SKUs per call; the answer
 * carries a status per SKU (SUCCESS, WARNING: taken; FAILURE: refused), handled one by one. Live
 * counts come from `GET /sellers/listings/v3/{sku-ids}`. Bearer token from the client-credentials grant.
 */
export class FlipkartAdapter implements ChannelAdapter {
  readonly kind = 'flipkart';
  readonly plan: BatchPlan = { maxBatchSize: FLIPKART_MAX_SKUS };
  private readonly fetch: typeof fetch;
  private readonly logger: LoggerService;
  private readonly metrics: ConnectorMetrics;
  private readonly bucket: TokenBucket;

  constructor(private readonly options: FlipkartAdapterOptions) {
    const rate = options.rate ?? { ratePerSecond: 5, burst: 5 };
    this.bucket = new TokenBucket({ ratePerSecond: rate.ratePerSecond, capacity: rate.burst });
    this.fetch = options.fetch ?? globalThis.fetch;
    this.logger = options.logger ?? new Logger(`Flipkart:${options.channel}`);
    this.metrics = options.metrics ?? new ConnectorMetrics(options.channel, false);
  }

  async push(items: PushItem[]): Promise<PushOutcome[]> {
    const outcomes: PushOutcome[] = [];
    for (let start = 0; start < items.length; start += FLIPKART_MAX_SKUS) {
      const chunk = items.slice(start, start + FLIPKART_MAX_SKUS);
      const ready = chunk.filter((item) => item.listing.locationId);
      for (const item of chunk) if (!item.listing.locationId) outcomes.push({ sku: item.listing.sku, status: 'rejected', reason: 'the listing has no locationId' });
      if (ready.length === 0) continue;
      const body = Object.fromEntries(ready.map((item) => [item.listing.channelSku, { product_id: item.listing.externalId, locations: [{ id: item.listing.locationId, inventory: item.quantity }] }]));
      const answer = (await this.request('updateInventory', 'POST', '/sellers/listings/v3/update/inventory', body)) as Record<string, SkuResult>;
      for (const item of ready) outcomes.push(this.outcome(item, answer?.[item.listing.channelSku]));
    }
    return outcomes;
  }

  async readLive(listings: Listing[]): Promise<Map<string, number | null>> {
    const live = new Map<string, number | null>();
    for (let start = 0; start < listings.length; start += FLIPKART_MAX_SKUS) {
      const chunk = listings.slice(start, start + FLIPKART_MAX_SKUS);
      const ids = chunk.map((listing) => encodeURIComponent(listing.channelSku)).join(',');
      const answer = await this.request('getListings', 'GET', `/sellers/listings/v3/${ids}`);
      for (const listing of chunk) {
        const found = answer?.available?.[listing.channelSku];
        const location = (found?.locations ?? []).find((entry: { id: string }) => entry.id === listing.locationId);
        live.set(listing.sku, typeof location?.inventory === 'number' ? location.inventory : null);
      }
    }
    return live;
  }

  private outcome(item: PushItem, result: SkuResult | undefined): PushOutcome {
    const sku = item.listing.sku;
    const problems = (result?.errors ?? []).map((error) => `${error.code ?? ''} ${error.description ?? ''}`.trim()).join('; ');
    switch (result?.status) {
      case 'SUCCESS':
        return { sku, status: 'applied', quantity: item.quantity };
      case 'WARNING':
        this.logger.warn(`Flipkart took ${item.listing.channelSku} = ${item.quantity} with warnings: ${problems}`);
        return { sku, status: 'applied', quantity: item.quantity };
      case 'FAILURE':
        return { sku, status: 'rejected', reason: `FAILURE${problems ? `: ${problems}` : ''}` };
      default:
        return { sku, status: 'retry', reason: `no status for ${item.listing.channelSku} in the answer` };
    }
  }

  /** One API call: bearer token (renewed once on 401), paced, 429 and 5xx retried. */
  request(operation: string, method: string, path: string, body?: unknown): Promise<any> {
    const url = new URL(path, this.options.apiUrl);
    let renewed = false;
    return withRetries(
      async () => {
        await this.bucket.take();
        const token = await this.options.token.get();
        const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
        if (body !== undefined) headers['Content-Type'] = 'application/json; charset=utf-8';
        const response = await fetchOrTransient(this.fetch, url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }, `Flipkart ${operation}`);
        const answer = await readJson(response);
        if (response.ok) {
          this.metrics.calls.inc({ channel: this.options.channel, operation, outcome: 'ok' });
          return answer;
        }
        if (response.status === 401 && !renewed) {
          renewed = true;
          this.options.token.invalidate(token);
          this.metrics.calls.inc({ channel: this.options.channel, operation, outcome: 'unauthorized' });
          throw new TransientChannelError(`Flipkart ${operation} answered 401`, 0);
        }
        const error = errorForStatus(`Flipkart ${operation}`, response, answer);
        const throttled = error instanceof TransientChannelError && error.throttled;
        if (throttled) this.metrics.throttles.inc({ channel: this.options.channel });
        this.metrics.calls.inc({ channel: this.options.channel, operation, outcome: throttled ? 'throttled' : error instanceof AdapterRejectedError ? 'rejected' : 'failed' });
        throw error;
      },
      { maxAttempts: 6, backoff: { initialMs: 250, maxMs: 10_000 }, onRetry: () => this.metrics.retries.inc({ channel: this.options.channel }) },
    );
  }
}
