import { randomUUID } from 'node:crypto';
import { FakeRateLimit, startFakeServer, type FakeRequest, type FakeResponse, type FakeServer } from './fake-server';

/**
 * A local Amazon SP-API and Login with Amazon, written from the models in amzn/selling-partner-api-models
 * (see REFERENCES.md): LWA refresh-token grant; `x-amz-access-token` checked, expired tokens answered 403;
 * Listings Items 2021-08-01 PATCH (ACCEPTED, applied after a delay; INVALID with issues) and GET with
 * fulfillmentAvailability; Feeds 2021-06-30 (createFeedDocument, upload, createFeed, getFeed,
 * getFeedDocument) processing JSON_LISTINGS_FEED documents into a processing report; each operation's
 * usage plan as a token bucket answering 429 QuotaExceeded, and a cap of feeds per window.
 */
export interface AmazonFakeOptions {
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  sellerId?: string;
  /** Access token lifetime (LWA: 3600 s). */
  tokenTtlSeconds?: number;
  /** ACCEPTED PATCHes apply this long after (Amazon processes them asynchronously). */
  applyDelayMs?: number;
  /** A feed stays IN_QUEUE/IN_PROGRESS this long. */
  feedProcessingMs?: number;
  /** Usage plans by operation: [rate per second, burst]. Defaults are the model files'. */
  limits?: Partial<Record<Operation, [number, number]>>;
  feedsPerWindow?: number;
  feedWindowMs?: number;
}

type Operation = 'patchListingsItem' | 'getListingsItem' | 'createFeedDocument' | 'createFeed' | 'getFeed' | 'getFeedDocument';

const DEFAULT_LIMITS: Record<Operation, [number, number]> = {
  patchListingsItem: [5, 5],
  getListingsItem: [5, 10],
  createFeedDocument: [0.5, 15],
  createFeed: [0.0083, 15],
  getFeed: [2, 15],
  getFeedDocument: [0.0222, 10],
};

interface Listing {
  productType: string;
  quantity: number | null;
}

interface Feed {
  feedId: string;
  feedType: string;
  marketplaceIds: string[];
  createdTime: string;
  processingStatus: 'IN_QUEUE' | 'IN_PROGRESS' | 'DONE' | 'FATAL' | 'CANCELLED';
  processingStartTime?: string;
  processingEndTime?: string;
  resultFeedDocumentId?: string;
  inputFeedDocumentId: string;
}

const error = (status: number, code: string, message: string, details?: string): FakeResponse => ({ status, body: { errors: [{ code, message, ...(details ? { details } : {}) }] }, headers: { 'x-amzn-RequestId': randomUUID() } });

export class AmazonFake {
  readonly stats = { tokenRequests: 0, expiredTokenCalls: 0, refusedTokenCalls: 0, patches: 0, feedsCreated: 0, feedMessages: 0, throttled: {} as Record<string, number>, calls: {} as Record<string, number> };
  private server: FakeServer | null = null;
  private readonly options: Required<Omit<AmazonFakeOptions, 'limits'>> & { limits: Record<Operation, [number, number]> };
  private readonly buckets: Record<Operation, FakeRateLimit>;
  private readonly tokens = new Map<string, number>();
  private readonly listings = new Map<string, Listing>();
  private readonly documents = new Map<string, { content: string | null; kind: 'input' | 'result' }>();
  private readonly feeds = new Map<string, Feed>();
  private readonly feedTimes: number[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private sequence = 0;

  constructor(options: AmazonFakeOptions = {}) {
    this.options = {
      clientId: 'amzn1.application-oa2-client.test',
      clientSecret: 'amzn-secret',
      refreshToken: 'Atzr|refresh',
      sellerId: 'A1SELLER',
      tokenTtlSeconds: 3600,
      applyDelayMs: 20,
      feedProcessingMs: 100,
      feedsPerWindow: 5,
      feedWindowMs: 300_000,
      ...options,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
    };
    this.buckets = Object.fromEntries(Object.entries(this.options.limits).map(([operation, [rate, burst]]) => [operation, new FakeRateLimit(rate, burst)])) as Record<Operation, FakeRateLimit>;
  }

  get url(): string {
    return this.server!.url;
  }

  get lwaUrl(): string {
    return `${this.server!.url}/auth/o2/token`;
  }

  get sellerId(): string {
    return this.options.sellerId;
  }

  async start(): Promise<this> {
    this.server = await startFakeServer((request) => this.handle(request));
    return this;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    await this.server?.close();
  }

  addListing(sellerSku: string, productType: string, quantity: number | null = null): void {
    this.listings.set(sellerSku, { productType, quantity });
  }

  /** The merchant-fulfilled (DEFAULT) quantity Amazon shows now. */
  quantity(sellerSku: string): number | null {
    return this.listings.get(sellerSku)?.quantity ?? null;
  }

  /** An order on Amazon: it lowers its own MFN quantity. */
  sell(sellerSku: string, quantity: number): void {
    const listing = this.listings.get(sellerSku)!;
    listing.quantity = Math.max(0, (listing.quantity ?? 0) - quantity);
  }

  /** Revokes every access token issued so far (Amazon refuses them with 403 from then on). */
  revokeTokens(): void {
    this.tokens.clear();
  }

  /** Submissions accepted and not yet applied. */
  inFlight(): number {
    return this.timers.size;
  }

  /** Requests the usage plans refused, all operations. */
  throttledTotal(): number {
    return Object.values(this.stats.throttled).reduce((sum, count) => sum + count, 0);
  }

  private later(ms: number, work: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      work();
    }, ms);
    this.timers.add(timer);
  }

  private limit(operation: Operation): FakeResponse | null {
    this.stats.calls[operation] = (this.stats.calls[operation] ?? 0) + 1;
    if (this.buckets[operation].tryTake()) return null;
    this.stats.throttled[operation] = (this.stats.throttled[operation] ?? 0) + 1;
    return error(429, 'QuotaExceeded', 'You exceeded your quota for the requested resource.');
  }

  private handle(request: FakeRequest): FakeResponse {
    if (request.path === '/auth/o2/token' && request.method === 'POST') return this.token(request);
    if (request.path.startsWith('/uploads/') && request.method === 'PUT') {
      const document = this.documents.get(request.path.slice('/uploads/'.length));
      if (!document) return { status: 403, text: 'AccessDenied' };
      document.content = request.raw.toString('utf8');
      return { status: 200, text: '' };
    }
    if (request.path.startsWith('/downloads/') && request.method === 'GET') {
      const document = this.documents.get(request.path.slice('/downloads/'.length));
      return document?.content ? { status: 200, text: document.content, headers: { 'Content-Type': 'application/json' } } : { status: 404, text: 'NoSuchKey' };
    }
    const token = request.headers['x-amz-access-token'];
    const expiresAt = typeof token === 'string' ? this.tokens.get(token) : undefined;
    if (expiresAt === undefined) this.stats.refusedTokenCalls += 1;
    if (expiresAt === undefined) return error(403, 'Unauthorized', 'Access to requested resource is denied.', 'The access token you provided is revoked, malformed or invalid.');
    if (Date.now() >= expiresAt) {
      this.stats.expiredTokenCalls += 1;
      return error(403, 'Unauthorized', 'Access to requested resource is denied.', 'The access token you provided has expired.');
    }
    const listing = /^\/listings\/2021-08-01\/items\/([^/]+)\/([^/]+)$/.exec(request.path);
    if (listing) return request.method === 'PATCH' ? this.patch(request, decodeURIComponent(listing[1]), decodeURIComponent(listing[2])) : request.method === 'GET' ? this.getListing(request, decodeURIComponent(listing[2])) : error(405, 'MethodNotAllowed', 'method not allowed');
    if (request.path === '/feeds/2021-06-30/documents' && request.method === 'POST') return this.limit('createFeedDocument') ?? this.createDocument(request);
    if (request.path === '/feeds/2021-06-30/feeds' && request.method === 'POST') return this.limit('createFeed') ?? this.createFeed(request);
    const feed = /^\/feeds\/2021-06-30\/feeds\/([^/]+)$/.exec(request.path);
    if (feed && request.method === 'GET') {
      const found = this.feeds.get(feed[1]);
      return this.limit('getFeed') ?? (found ? { status: 200, body: found } : error(404, 'NotFound', 'The requested feed was not found.'));
    }
    const document = /^\/feeds\/2021-06-30\/documents\/([^/]+)$/.exec(request.path);
    if (document && request.method === 'GET') {
      return this.limit('getFeedDocument') ?? (this.documents.has(document[1]) ? { status: 200, body: { feedDocumentId: document[1], url: `${this.url}/downloads/${document[1]}` } } : error(404, 'NotFound', 'The requested document was not found.'));
    }
    return error(404, 'NotFound', `no such resource ${request.method} ${request.path}`);
  }

  private token(request: FakeRequest): FakeResponse {
    this.stats.tokenRequests += 1;
    const form = new URLSearchParams(request.raw.toString('utf8'));
    if (form.get('grant_type') !== 'refresh_token') return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'The authorization grant type is not supported' } };
    if (form.get('client_id') !== this.options.clientId || form.get('client_secret') !== this.options.clientSecret) return { status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed' } };
    if (form.get('refresh_token') !== this.options.refreshToken) return { status: 400, body: { error: 'invalid_grant', error_description: 'The request has an invalid grant parameter : refresh_token' } };
    const accessToken = `Atza|${randomUUID()}`;
    this.tokens.set(accessToken, Date.now() + this.options.tokenTtlSeconds * 1000);
    return { status: 200, body: { access_token: accessToken, refresh_token: this.options.refreshToken, token_type: 'bearer', expires_in: this.options.tokenTtlSeconds } };
  }

  private patch(request: FakeRequest, sellerId: string, sku: string): FakeResponse {
    const throttled = this.limit('patchListingsItem');
    if (throttled) return throttled;
    this.stats.patches += 1;
    if (!request.query.get('marketplaceIds')) return error(400, 'InvalidInput', 'Missing required parameter: marketplaceIds');
    if (sellerId !== this.options.sellerId) return error(403, 'Unauthorized', 'Access to requested resource is denied.');
    const body = request.json;
    if (!body || typeof body.productType !== 'string' || !Array.isArray(body.patches) || body.patches.length === 0) return error(400, 'InvalidInput', 'productType and at least one patch are required');
    const submissionId = randomUUID().replace(/-/g, '');
    const existing = this.listings.get(sku);
    const quantity = fulfillmentQuantity(body.patches);
    const issues = [];
    if (!existing) issues.push({ code: '4000004', message: `No listing found for SKU ${sku}.`, severity: 'ERROR', attributeNames: [] });
    else if (quantity === undefined || !Number.isInteger(quantity) || quantity < 0) issues.push({ code: '90220', message: "'fulfillment_availability.quantity' must be a non-negative integer.", severity: 'ERROR', attributeNames: ['fulfillment_availability'] });
    if (issues.length) return { status: 200, body: { sku, status: 'INVALID', submissionId, issues } };
    this.later(this.options.applyDelayMs, () => (existing!.quantity = quantity as number));
    return { status: 200, body: { sku, status: 'ACCEPTED', submissionId, issues: [] }, headers: { 'x-amzn-RateLimit-Limit': String(this.options.limits.patchListingsItem[0]) } };
  }

  private getListing(request: FakeRequest, sku: string): FakeResponse {
    const throttled = this.limit('getListingsItem');
    if (throttled) return throttled;
    if (!request.query.get('marketplaceIds')) return error(400, 'InvalidInput', 'Missing required parameter: marketplaceIds');
    const listing = this.listings.get(sku);
    if (!listing) return error(404, 'NOT_FOUND', `SKU '${sku}' not found in marketplace ${request.query.get('marketplaceIds')}`);
    const included = (request.query.get('includedData') ?? 'summaries').split(',');
    const item: Record<string, unknown> = { sku };
    if (included.includes('fulfillmentAvailability')) item.fulfillmentAvailability = listing.quantity === null ? [] : [{ fulfillmentChannelCode: 'DEFAULT', quantity: listing.quantity }];
    if (included.includes('summaries')) item.summaries = [{ marketplaceId: request.query.get('marketplaceIds'), productType: listing.productType, status: ['BUYABLE'] }];
    return { status: 200, body: item };
  }

  private createDocument(request: FakeRequest): FakeResponse {
    if (typeof request.json?.contentType !== 'string') return error(400, 'InvalidInput', 'contentType is required');
    const feedDocumentId = `amzn1.tortuga.4.eu.${randomUUID()}`;
    this.documents.set(feedDocumentId, { content: null, kind: 'input' });
    return { status: 201, body: { feedDocumentId, url: `${this.url}/uploads/${feedDocumentId}` } };
  }

  private createFeed(request: FakeRequest): FakeResponse {
    const { feedType, marketplaceIds, inputFeedDocumentId } = request.json ?? {};
    if (!feedType || !Array.isArray(marketplaceIds) || marketplaceIds.length === 0 || !inputFeedDocumentId) return error(400, 'InvalidInput', 'feedType, marketplaceIds and inputFeedDocumentId are required');
    const input = this.documents.get(inputFeedDocumentId);
    if (!input?.content) return error(400, 'InvalidInput', 'the input feed document was not uploaded');
    // JSON_LISTINGS_FEED has its own, lower limit than createFeed: about 5 feeds per 5 minutes.
    const now = Date.now();
    while (this.feedTimes.length && this.feedTimes[0] <= now - this.options.feedWindowMs) this.feedTimes.shift();
    if (feedType === 'JSON_LISTINGS_FEED' && this.feedTimes.length >= this.options.feedsPerWindow) {
      this.stats.throttled.JSON_LISTINGS_FEED = (this.stats.throttled.JSON_LISTINGS_FEED ?? 0) + 1;
      return error(429, 'QuotaExceeded', 'You exceeded your quota for the requested resource.');
    }
    this.feedTimes.push(now);
    this.stats.feedsCreated += 1;
    const feedId = String(50_000_000_000 + ++this.sequence);
    const feed: Feed = { feedId, feedType, marketplaceIds, createdTime: new Date().toISOString(), processingStatus: 'IN_QUEUE', inputFeedDocumentId };
    this.feeds.set(feedId, feed);
    this.later(this.options.feedProcessingMs / 2, () => {
      feed.processingStatus = 'IN_PROGRESS';
      feed.processingStartTime = new Date().toISOString();
    });
    this.later(this.options.feedProcessingMs, () => this.process(feed, input.content as string));
    return { status: 202, body: { feedId } };
  }

  /** Applies a listings feed (schema v2) and writes its processing report. */
  private process(feed: Feed, content: string): void {
    let document: any;
    try {
      document = JSON.parse(content);
    } catch {
      feed.processingStatus = 'FATAL';
      return;
    }
    const issues: { messageId: number; sku: string; code: string; severity: string; message: string }[] = [];
    const messages = Array.isArray(document?.messages) ? document.messages : [];
    if (document?.header?.sellerId !== this.options.sellerId || document?.header?.version !== '2.0' || messages.length < 1 || messages.length > 25_000) {
      feed.processingStatus = 'FATAL';
      return;
    }
    let accepted = 0;
    for (const message of messages) {
      this.stats.feedMessages += 1;
      const listing = this.listings.get(message.sku);
      const quantity = message.operationType === 'PATCH' ? fulfillmentQuantity(message.patches ?? []) : undefined;
      if (!listing) issues.push({ messageId: message.messageId, sku: message.sku, code: '4000004', severity: 'ERROR', message: `No listing found for SKU ${message.sku}.` });
      else if (typeof message.productType !== 'string') issues.push({ messageId: message.messageId, sku: message.sku, code: '4000001', severity: 'ERROR', message: 'productType is required.' });
      else if (quantity === undefined || !Number.isInteger(quantity) || quantity < 0) issues.push({ messageId: message.messageId, sku: message.sku, code: '90220', severity: 'ERROR', message: "'fulfillment_availability' is invalid." });
      else {
        listing.quantity = quantity;
        accepted += 1;
      }
    }
    const resultFeedDocumentId = `amzn1.tortuga.4.eu.${randomUUID()}`;
    const report = {
      header: { sellerId: this.options.sellerId, version: '2.0', feedId: feed.feedId },
      issues,
      summary: { errors: issues.length, warnings: 0, messagesProcessed: messages.length, messagesAccepted: accepted, messagesInvalid: messages.length - accepted },
    };
    this.documents.set(resultFeedDocumentId, { content: JSON.stringify(report), kind: 'result' });
    Object.assign(feed, { processingStatus: 'DONE', processingEndTime: new Date().toISOString(), resultFeedDocumentId });
  }
}

/** The quantity a merge/replace patch of /attributes/fulfillment_availability sets for DEFAULT. */
function fulfillmentQuantity(patches: { op: string; path: string; value?: { fulfillment_channel_code?: string; quantity?: number }[] }[]): number | undefined {
  const patch = patches.find((candidate) => candidate.path === '/attributes/fulfillment_availability' && ['merge', 'replace', 'add'].includes(candidate.op));
  return patch?.value?.find((value) => value.fulfillment_channel_code === 'DEFAULT')?.quantity;
}
