import { randomUUID } from 'node:crypto';
import { FakeRateLimit, startFakeServer, type FakeRequest, type FakeResponse, type FakeServer } from './fake-server';

/**
 * A local Flipkart Marketplace Seller API v3, written from Flipkart's published docs (REFERENCES.md):
 * the client-credentials token (`/oauth-service/oauth/token`, HTTP Basic); `POST
 * /sellers/listings/v3/update/inventory` (a map of SKU to product_id and locations, at most 10 SKUs,
 * a status per SKU: SUCCESS, WARNING or FAILURE); `GET /sellers/listings/v3/{sku-ids}`; and `POST
 * /sellers/v3/shipments/filter` (preDispatch, postDispatch, cancelled; pages through nextPageUrl).
 * Flipkart publishes no rate limit: the fake's is configurable and answers 429.
 */
export interface FlipkartFakeOptions {
  clientId?: string;
  clientSecret?: string;
  tokenTtlSeconds?: number;
  rate?: [number, number];
  pageSize?: number;
}

interface Listing {
  productId: string;
  locations: Map<string, number>;
}

interface Shipment {
  shipmentId: string;
  state: string;
  updatedAt: number;
  cancellationType?: string;
  orderItems: { orderItemId: string; orderId: string; sku: string; fsn: string; quantity: number; status: string }[];
}

export class FlipkartFake {
  readonly stats = { tokenRequests: 0, inventoryCalls: 0, maxSkusPerCall: 0, throttled: 0, searches: 0 };
  private server: FakeServer | null = null;
  private readonly options: Required<FlipkartFakeOptions>;
  private readonly limit: FakeRateLimit;
  private readonly tokens = new Map<string, number>();
  private readonly listings = new Map<string, Listing>();
  private readonly warn = new Set<string>();
  private readonly failOnce = new Set<string>();
  private readonly shipments = new Map<string, Shipment>();
  private readonly pages = new Map<string, Shipment[]>();
  private sequence = 0;

  constructor(options: FlipkartFakeOptions = {}) {
    this.options = { clientId: 'fk-app', clientSecret: 'fk-secret', tokenTtlSeconds: 5_183_999, rate: [10, 10], pageSize: 20, ...options };
    this.limit = new FakeRateLimit(this.options.rate[0], this.options.rate[1]);
  }

  get url(): string {
    return this.server!.url;
  }

  async start(): Promise<this> {
    this.server = await startFakeServer((request) => this.handle(request));
    return this;
  }

  close(): Promise<void> {
    return this.server?.close() ?? Promise.resolve();
  }

  addListing(sku: string, productId: string, locationId: string, inventory = 0): void {
    this.listings.set(sku, { productId, locations: new Map([[locationId, inventory]]) });
  }

  inventory(sku: string, locationId: string): number | undefined {
    return this.listings.get(sku)?.locations.get(locationId);
  }

  /** The next updates of this SKU are taken with a WARNING. */
  warnFor(sku: string): void {
    this.warn.add(sku);
  }

  /** The next update of this SKU fails. */
  failNext(sku: string): void {
    this.failOnce.add(sku);
  }

  /** A buyer's order: a shipment in APPROVED; Flipkart lowers the listing's inventory itself. */
  placeOrder(items: { sku: string; quantity: number; locationId: string }[]): Shipment {
    const orderId = `OD${100_000_000 + ++this.sequence}`;
    const shipment: Shipment = {
      shipmentId: randomUUID(),
      state: 'APPROVED',
      updatedAt: Date.now(),
      orderItems: items.map((item, index) => {
        const listing = this.listings.get(item.sku)!;
        listing.locations.set(item.locationId, Math.max(0, (listing.locations.get(item.locationId) ?? 0) - item.quantity));
        return { orderItemId: `${orderId}-${index + 1}`, orderId, sku: item.sku, fsn: listing.productId, quantity: item.quantity, status: 'APPROVED' };
      }),
    };
    this.shipments.set(shipment.shipmentId, shipment);
    return shipment;
  }

  dispatch(shipmentId: string): void {
    this.move(shipmentId, 'SHIPPED');
  }

  cancel(shipmentId: string, cancellationType = 'buyerCancellation'): void {
    this.move(shipmentId, 'CANCELLED').cancellationType = cancellationType;
  }

  private move(shipmentId: string, state: string): Shipment {
    const shipment = this.shipments.get(shipmentId)!;
    shipment.state = state;
    shipment.updatedAt = Date.now();
    for (const item of shipment.orderItems) item.status = state;
    return shipment;
  }

  private handle(request: FakeRequest): FakeResponse {
    if (request.path === '/oauth-service/oauth/token' && request.method === 'GET') return this.token(request);
    const bearer = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
    const expiresAt = bearer ? this.tokens.get(bearer) : undefined;
    if (expiresAt === undefined || Date.now() >= expiresAt) return { status: 401, body: { error: 'invalid_token', error_description: 'Invalid access token' } };
    if (!this.limit.tryTake()) {
      this.stats.throttled += 1;
      return { status: 429, body: { errors: [{ severity: 'ERROR', code: 'TOO_MANY_REQUESTS', description: 'Request rate exceeded' }] } };
    }
    if (request.path === '/sellers/listings/v3/update/inventory' && request.method === 'POST') return this.updateInventory(request);
    if (request.path.startsWith('/sellers/listings/v3/') && request.method === 'GET') return this.getListings(decodeURIComponent(request.path.slice('/sellers/listings/v3/'.length)));
    if (request.path.replace(/\/$/, '') === '/sellers/v3/shipments/filter') return request.method === 'POST' ? this.search(request) : this.nextPage(request);
    return { status: 404, body: { errors: [{ severity: 'ERROR', code: 'NOT_FOUND', description: `no such resource ${request.path}` }] } };
  }

  private token(request: FakeRequest): FakeResponse {
    this.stats.tokenRequests += 1;
    const basic = /^Basic (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
    const [id, secret] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':') : [];
    if (request.query.get('grant_type') !== 'client_credentials') return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Unsupported grant type' } };
    if (id !== this.options.clientId) return { status: 401, body: { error: 'unauthorized', error_description: `No client with requested id: ${id}` } };
    if (secret !== this.options.clientSecret) return { status: 401, body: { error: 'unauthorized', error_description: 'Bad credentials' } };
    const accessToken = randomUUID();
    this.tokens.set(accessToken, Date.now() + this.options.tokenTtlSeconds * 1000);
    return { status: 200, body: { access_token: accessToken, token_type: 'bearer', expires_in: this.options.tokenTtlSeconds, scope: request.query.get('scope') ?? 'Seller_Api' } };
  }

  private updateInventory(request: FakeRequest): FakeResponse {
    this.stats.inventoryCalls += 1;
    const body = request.json;
    if (!body || typeof body !== 'object' || Array.isArray(body)) return { status: 400, body: { errors: [{ severity: 'ERROR', code: 'BAD_REQUEST', description: 'The payload must be a map of SKU to inventory' }] } };
    const skus = Object.keys(body);
    this.stats.maxSkusPerCall = Math.max(this.stats.maxSkusPerCall, skus.length);
    if (skus.length === 0 || skus.length > 10) return { status: 400, body: { errors: [{ severity: 'ERROR', code: 'BATCH_SIZE_EXCEEDED', description: 'Max batch size allowed is 10' }] } };
    const answer: Record<string, unknown> = {};
    for (const sku of skus) {
      const update = body[sku];
      const listing = this.listings.get(sku);
      const failure = (code: string, description: string) => (answer[sku] = { status: 'FAILURE', errors: [{ severity: 'ERROR', code, description }] });
      if (!listing) failure('SKU_NOT_FOUND', `Listing for SKU ${sku} does not exist`);
      else if (update?.product_id !== listing.productId) failure('INVALID_PRODUCT_ID', `product_id does not match the listing of ${sku}`);
      else if (!Array.isArray(update.locations) || update.locations.length === 0) failure('INVALID_LOCATIONS', 'locations is mandatory');
      else if (update.locations.some((location: any) => !listing.locations.has(location.id))) failure('INVALID_LOCATION_ID', 'Unknown location id');
      else if (update.locations.some((location: any) => !Number.isInteger(location.inventory) || location.inventory < 0)) failure('INVALID_INVENTORY', 'inventory must be a non-negative integer');
      else if (this.failOnce.delete(sku)) failure('INTERNAL_ERROR', 'Could not update the inventory, try again');
      else {
        for (const location of update.locations) listing.locations.set(location.id, location.inventory);
        answer[sku] = this.warn.has(sku) ? { status: 'WARNING', errors: [{ severity: 'WARNING', code: 'LOW_INVENTORY', description: 'Inventory is low' }] } : { status: 'SUCCESS' };
      }
    }
    return { status: 200, body: answer };
  }

  private getListings(ids: string): FakeResponse {
    const skus = ids.split(',').filter(Boolean);
    if (skus.length === 0 || skus.length > 10) return { status: 400, body: { errors: [{ severity: 'ERROR', code: 'BATCH_SIZE_EXCEEDED', description: 'Maximum per call: 10' }] } };
    const available: Record<string, unknown> = {};
    const unavailable: string[] = [];
    for (const sku of skus) {
      const listing = this.listings.get(sku);
      if (!listing) unavailable.push(sku);
      else available[sku] = { product_id: listing.productId, locations: [...listing.locations].map(([id, inventory]) => ({ id, status: 'ENABLED', inventory })) };
    }
    return { status: 200, body: { available, unavailable, invalid: [] } };
  }

  private search(request: FakeRequest): FakeResponse {
    this.stats.searches += 1;
    const filter = request.json?.filter;
    if (!filter || !['preDispatch', 'postDispatch', 'cancelled'].includes(filter.type) || !Array.isArray(filter.states)) {
      return { status: 400, body: { errors: [{ severity: 'ERROR', code: 'INVALID_FILTER', description: 'filter.type and filter.states are mandatory' }] } };
    }
    if (filter.type === 'cancelled' && !filter.cancellationType) return { status: 400, body: { errors: [{ severity: 'ERROR', code: 'INVALID_FILTER', description: 'cancellationType is mandatory for cancelled' }] } };
    const within = (range: { from?: string; to?: string } | undefined, at: number) => !range || ((!range.from || at >= Date.parse(range.from)) && (!range.to || at <= Date.parse(range.to)));
    const matches = [...this.shipments.values()].filter((shipment) => {
      if (!filter.states.includes(shipment.state)) return false;
      if (filter.type === 'postDispatch') return within(filter.modifiedDate, shipment.updatedAt);
      if (filter.type === 'cancelled') return shipment.cancellationType === filter.cancellationType && within(filter.cancellationDate, shipment.updatedAt);
      return true;
    });
    return this.page(matches, Math.min(Number(request.json?.pagination?.pageSize) || this.options.pageSize, this.options.pageSize));
  }

  private nextPage(request: FakeRequest): FakeResponse {
    const token = request.query.get('next_token') ?? '';
    const rest = this.pages.get(token);
    if (!rest) return { status: 400, body: { errors: [{ severity: 'ERROR', code: 'INVALID_TOKEN', description: 'next_token is invalid or expired' }] } };
    this.pages.delete(token);
    return this.page(rest, this.options.pageSize);
  }

  private page(shipments: Shipment[], size: number): FakeResponse {
    const now = shipments.slice(0, size);
    const rest = shipments.slice(size);
    let nextPageUrl: string | null = null;
    if (rest.length) {
      const token = randomUUID();
      this.pages.set(token, rest);
      nextPageUrl = `/v3/shipments/filter?next_token=${token}`;
    }
    const body = now.map((shipment) => ({ shipmentId: shipment.shipmentId, updatedAt: new Date(shipment.updatedAt).toISOString(), locationId: null, hold: false, mps: false, orderItems: shipment.orderItems.map((item) => ({ ...item })) }));
    return { status: 200, body: { hasMore: rest.length > 0, nextPageUrl, shipments: body } };
  }
}
