import { Logger, type LoggerService } from '@nestjs/common';
import type { BatchPlan, ChannelAdapter, PushItem, PushOptions, PushOutcome, SettledOutcome } from '../../channel-adapter';
import { AdapterRejectedError, errorForStatus, fetchOrTransient, readJson, TransientChannelError, withRetries } from '../../http/retry';
import type { Listing } from '../../listings';
import { ConnectorMetrics } from '../../metrics';
import { TokenBucket } from '../../token-bucket';
import type { CachedAccessToken } from '../oauth-token';

export interface AmazonAdapterOptions {
  /** SP-API endpoint, e.g. https://sellingpartnerapi-eu.amazon.com. */
  spApiUrl: string;
  sellerId: string;
  /** Used when a listing names no marketplace. */
  marketplaceId: string;
  token: CachedAccessToken;
  channel: string;
  /** patchListingsItem usage plan: 5 requests/s, burst 5 (the model file). */
  patchRate?: { ratePerSecond: number; burst: number };
  /** getListingsItem usage plan: 5 requests/s, burst 10. */
  readRate?: { ratePerSecond: number; burst: number };
  /** getFeed usage plan: 2 requests/s, burst 15. */
  feedStatusRate?: { ratePerSecond: number; burst: number };
  /** At or above this many pending SKUs, one JSON_LISTINGS_FEED instead of PATCHes. Default 50. */
  feedThreshold?: number;
  /** Feeds per window (Amazon: about 5 per 5 minutes for JSON_LISTINGS_FEED). */
  feedsPerWindow?: number;
  feedWindowMs?: number;
  /** Messages per feed; the schema allows 25,000. */
  feedMaxMessages?: number;
  fetch?: typeof fetch;
  metrics?: ConnectorMetrics;
  logger?: LoggerService;
}

interface FeedInFlight {
  feedId: string;
  createdAt: number;
  items: Map<number, PushItem>;
}

const FULFILLMENT_PATH = '/attributes/fulfillment_availability';

/**
 * Amazon SP-API. Regular path: Listings Items `PATCH /listings/2021-08-01/items/{sellerId}/{sku}` with a
 * merge of fulfillment_availability (`fulfillment_channel_code: DEFAULT`), one SKU a call, paced by a
 * token bucket at the documented 5 requests/s burst 5, 429 backed off. ACCEPTED means Amazon processes
 * it later. At or above a threshold of pending SKUs (a full resync, a burst) one JSON_LISTINGS_FEED goes
 * through the Feeds API (createFeedDocument, upload, createFeed), at most `feedsPerWindow` per window;
 * `settle()` follows each feed to DONE and reads its processing report. Access tokens come from Login
 * with Amazon and travel in `x-amz-access-token`.
 */
export class AmazonAdapter implements ChannelAdapter {
  readonly kind = 'amazon';
  readonly plan: BatchPlan;
  private readonly fetch: typeof fetch;
  private readonly logger: LoggerService;
  private readonly metrics: ConnectorMetrics;
  private readonly patchBucket: TokenBucket;
  private readonly readBucket: TokenBucket;
  private readonly feedStatusBucket: TokenBucket;
  private readonly feedTimes: number[] = [];
  private readonly feeds = new Map<string, FeedInFlight>();

  constructor(private readonly options: AmazonAdapterOptions) {
    const patch = options.patchRate ?? { ratePerSecond: 5, burst: 5 };
    const read = options.readRate ?? { ratePerSecond: 5, burst: 10 };
    const status = options.feedStatusRate ?? { ratePerSecond: 2, burst: 15 };
    this.patchBucket = new TokenBucket({ ratePerSecond: patch.ratePerSecond, capacity: patch.burst });
    this.readBucket = new TokenBucket({ ratePerSecond: read.ratePerSecond, capacity: read.burst });
    this.feedStatusBucket = new TokenBucket({ ratePerSecond: status.ratePerSecond, capacity: status.burst });
    this.fetch = options.fetch ?? globalThis.fetch;
    this.logger = options.logger ?? new Logger(`Amazon:${options.channel}`);
    this.metrics = options.metrics ?? new ConnectorMetrics(options.channel, false);
    this.plan = {
      maxBatchSize: patch.burst,
      bulk: { threshold: options.feedThreshold ?? 50, maxBatchSize: options.feedMaxMessages ?? 25_000, available: () => this.feedSlotFree() },
    };
  }

  async push(items: PushItem[], options: PushOptions = { bulk: false }): Promise<PushOutcome[]> {
    if (options.bulk) return this.pushFeed(items);
    const outcomes: PushOutcome[] = [];
    for (const item of items) outcomes.push(await this.patch(item));
    return outcomes;
  }

  unsettled(): number {
    return [...this.feeds.values()].reduce((sum, feed) => sum + feed.items.size, 0);
  }

  /** Follows each feed; once DONE, reads the processing report: SKUs with an ERROR issue are refused, the rest applied. */
  async settle(): Promise<SettledOutcome[]> {
    const verdicts: SettledOutcome[] = [];
    for (const feed of [...this.feeds.values()]) {
      try {
        verdicts.push(...(await this.settleFeed(feed)));
      } catch (error) {
        // The feed stays: the next settle asks again, so no verdict is lost.
        this.logger.warn(`feed ${feed.feedId}: ${(error as Error).message}`);
      }
    }
    return verdicts;
  }

  private async settleFeed(feed: FeedInFlight): Promise<SettledOutcome[]> {
    await this.feedStatusBucket.take();
    const status = await this.call('getFeed', 'GET', `/feeds/2021-06-30/feeds/${encodeURIComponent(feed.feedId)}`);
    const seconds = (Date.now() - feed.createdAt) / 1000;
    if (status.processingStatus === 'IN_QUEUE' || status.processingStatus === 'IN_PROGRESS') return [];
    if (status.processingStatus !== 'DONE') {
      this.feeds.delete(feed.feedId);
      this.logger.warn(`feed ${feed.feedId} ended ${status.processingStatus}: its SKUs go again`);
      return [...feed.items.values()].map((item) => ({ sku: item.listing.sku, status: 'retry', quantity: item.quantity, reason: `feed ${status.processingStatus}`, processingSeconds: seconds }));
    }
    const report = await this.readReport(status.resultFeedDocumentId);
    this.feeds.delete(feed.feedId);
    const errors = new Map<number, string>();
    for (const issue of (report?.issues ?? []) as { messageId: number; severity: string; code: string; message: string }[]) {
      if (issue.severity === 'ERROR') errors.set(issue.messageId, `${issue.code}: ${issue.message}`);
    }
    return [...feed.items].map(([messageId, item]) => {
      const reason = errors.get(messageId);
      return reason ? { sku: item.listing.sku, status: 'rejected', quantity: item.quantity, reason, processingSeconds: seconds } : { sku: item.listing.sku, status: 'applied', quantity: item.quantity, processingSeconds: seconds };
    });
  }

  /** The DEFAULT (merchant-fulfilled) quantity per SKU from getListingsItem; null when Amazon has no such listing. */
  async readLive(listings: Listing[]): Promise<Map<string, number | null>> {
    const live = new Map<string, number | null>();
    for (const listing of listings) {
      await this.readBucket.take();
      const path = `/listings/2021-08-01/items/${encodeURIComponent(this.options.sellerId)}/${encodeURIComponent(listing.externalId)}`;
      try {
        const item = await this.call('getListingsItem', 'GET', path, undefined, { marketplaceIds: this.marketplace(listing), includedData: 'fulfillmentAvailability' });
        const entry = (item?.fulfillmentAvailability ?? []).find((availability: { fulfillmentChannelCode: string }) => availability.fulfillmentChannelCode === 'DEFAULT');
        live.set(listing.sku, typeof entry?.quantity === 'number' ? entry.quantity : null);
      } catch (error) {
        if (error instanceof AdapterRejectedError && error.status === 404) live.set(listing.sku, null);
        else throw error;
      }
    }
    return live;
  }

  private async patch(item: PushItem): Promise<PushOutcome> {
    const { listing, quantity } = item;
    if (!listing.productType) return { sku: listing.sku, status: 'rejected', reason: 'the listing has no productType' };
    const path = `/listings/2021-08-01/items/${encodeURIComponent(this.options.sellerId)}/${encodeURIComponent(listing.externalId)}`;
    const body = {
      productType: listing.productType,
      patches: [{ op: 'merge', path: FULFILLMENT_PATH, value: [{ fulfillment_channel_code: 'DEFAULT', quantity }] }],
    };
    try {
      const answer = await this.call('patchListingsItem', 'PATCH', path, body, { marketplaceIds: this.marketplace(listing) }, this.patchBucket);
      if (answer?.status === 'ACCEPTED') return { sku: listing.sku, status: 'accepted', quantity, submissionId: answer.submissionId };
      const issues = ((answer?.issues ?? []) as { code: string; message: string }[]).map((issue) => `${issue.code}: ${issue.message}`).join('; ');
      return { sku: listing.sku, status: 'rejected', reason: `${answer?.status ?? 'no status'}${issues ? ` (${issues})` : ''}` };
    } catch (error) {
      if (error instanceof AdapterRejectedError) return { sku: listing.sku, status: 'rejected', reason: error.message };
      if (error instanceof TransientChannelError) return { sku: listing.sku, status: 'retry', reason: error.message, retryAfterMs: error.retryAfterMs ?? undefined };
      throw error;
    }
  }

  private async pushFeed(items: PushItem[]): Promise<PushOutcome[]> {
    const outcomes: PushOutcome[] = [];
    const byMarketplace = new Map<string, PushItem[]>();
    for (const item of items) {
      if (!item.listing.productType) {
        outcomes.push({ sku: item.listing.sku, status: 'rejected', reason: 'the listing has no productType' });
        continue;
      }
      const marketplace = this.marketplace(item.listing);
      byMarketplace.set(marketplace, [...(byMarketplace.get(marketplace) ?? []), item]);
    }
    for (const [marketplace, group] of byMarketplace) {
      if (!this.feedSlotFree()) {
        // Out of feeds for this window: these go by PATCH.
        for (const item of group) outcomes.push(await this.patch(item));
        continue;
      }
      const feedId = await this.submitFeed(marketplace, group);
      for (const item of group) outcomes.push({ sku: item.listing.sku, status: 'accepted', quantity: item.quantity, submissionId: feedId });
    }
    return outcomes;
  }

  private async submitFeed(marketplace: string, items: PushItem[]): Promise<string> {
    const messages = items.map((item, index) => ({
      messageId: index + 1,
      sku: item.listing.externalId,
      operationType: 'PATCH',
      productType: item.listing.productType,
      patches: [{ op: 'merge', path: FULFILLMENT_PATH, value: [{ fulfillment_channel_code: 'DEFAULT', quantity: item.quantity }] }],
    }));
    const document = { header: { sellerId: this.options.sellerId, version: '2.0', issueLocale: 'en_US' }, messages };
    const contentType = 'application/json; charset=UTF-8';
    const created = await this.call('createFeedDocument', 'POST', '/feeds/2021-06-30/documents', { contentType });
    await withRetries(async () => {
      const response = await fetchOrTransient(this.fetch, created.url, { method: 'PUT', headers: { 'Content-Type': contentType }, body: JSON.stringify(document) }, 'feed upload');
      if (!response.ok) throw errorForStatus('feed upload', response, await readJson(response));
      await response.body?.cancel();
    });
    this.feedTimes.push(Date.now());
    const feed = await this.call('createFeed', 'POST', '/feeds/2021-06-30/feeds', { feedType: 'JSON_LISTINGS_FEED', marketplaceIds: [marketplace], inputFeedDocumentId: created.feedDocumentId });
    this.feeds.set(feed.feedId, { feedId: feed.feedId, createdAt: Date.now(), items: new Map(items.map((item, index) => [index + 1, item])) });
    this.logger.log(`feed ${feed.feedId}: ${items.length} SKUs for ${marketplace}`);
    return feed.feedId;
  }

  private async readReport(documentId: string | undefined): Promise<any> {
    if (!documentId) return null;
    const document = await this.call('getFeedDocument', 'GET', `/feeds/2021-06-30/documents/${encodeURIComponent(documentId)}`);
    return withRetries(async () => {
      const response = await fetchOrTransient(this.fetch, document.url, {}, 'feed report');
      const body = await readJson(response);
      if (!response.ok) throw errorForStatus('feed report', response, body);
      return body;
    });
  }

  private feedSlotFree(): boolean {
    const window = this.options.feedWindowMs ?? 300_000;
    const cutoff = Date.now() - window;
    while (this.feedTimes.length && this.feedTimes[0] <= cutoff) this.feedTimes.shift();
    return this.feedTimes.length < (this.options.feedsPerWindow ?? 5);
  }

  private marketplace(listing: Listing): string {
    return listing.marketplaceId ?? this.options.marketplaceId;
  }

  /** One SP-API call: access token in x-amz-access-token (renewed once if refused), 429 and 5xx retried with back-off. */
  private call(operation: string, method: string, path: string, body?: unknown, query: Record<string, string> = {}, bucket?: TokenBucket): Promise<any> {
    const url = new URL(path, this.options.spApiUrl);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    let renewed = false;
    return withRetries(
      async () => {
        await bucket?.take();
        const token = await this.options.token.get();
        const headers: Record<string, string> = { 'x-amz-access-token': token, Accept: 'application/json' };
        if (body !== undefined) headers['Content-Type'] = 'application/json';
        const response = await fetchOrTransient(this.fetch, url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }, `Amazon ${operation}`);
        const answer = await readJson(response);
        if (response.ok) {
          this.metrics.calls.inc({ channel: this.options.channel, operation, outcome: 'ok' });
          return answer;
        }
        if ((response.status === 403 || response.status === 401) && !renewed) {
          // An expired or revoked access token: renew once and try again.
          renewed = true;
          this.options.token.invalidate(token);
          this.metrics.calls.inc({ channel: this.options.channel, operation, outcome: 'unauthorized' });
          throw new TransientChannelError(`Amazon ${operation} answered ${response.status}`, 0);
        }
        const error = errorForStatus(`Amazon ${operation}`, response, answer);
        const throttled = error instanceof TransientChannelError && error.throttled;
        if (throttled) this.metrics.throttles.inc({ channel: this.options.channel });
        this.metrics.calls.inc({ channel: this.options.channel, operation, outcome: throttled ? 'throttled' : error instanceof AdapterRejectedError ? 'rejected' : 'failed' });
        throw error;
      },
      { maxAttempts: 6, backoff: { initialMs: 250, maxMs: 10_000 }, onRetry: () => this.metrics.retries.inc({ channel: this.options.channel }) },
    );
  }
}
