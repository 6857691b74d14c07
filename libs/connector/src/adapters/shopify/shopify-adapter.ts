import { Logger, type LoggerService } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { BatchPlan, ChannelAdapter, PushItem, PushOutcome } from '../../channel-adapter';
import { AdapterRejectedError, errorForStatus, fetchOrTransient, readJson, TransientChannelError, withRetries } from '../../http/retry';
import type { Listing } from '../../listings';
import { ConnectorMetrics } from '../../metrics';

export interface ShopifyAdapterOptions {
  /** The shop's admin origin, e.g. https://my-shop.myshopify.com. */
  adminUrl: string;
  accessToken: string;
  /** Admin API version, 2026-01 or later (changeFromQuantity and @idempotent). */
  apiVersion?: string;
  channel: string;
  /** Quantities per inventorySetQuantities call. Default 100 (no documented cap was found; the older bulk mutation took 100). */
  batchSize?: number;
  /** Inventory items per levels query. Default 50. */
  readBatchSize?: number;
  /** The `reason` Shopify records for each change. Default `correction`. */
  reason?: string;
  /** Rounds of re-reading after stale changeFromQuantity before giving the SKU back for later. Default 3. */
  casRounds?: number;
  fetch?: typeof fetch;
  metrics?: ConnectorMetrics;
  logger?: LoggerService;
}

const SET_MUTATION = `mutation SetAvailable($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}`;

interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

interface UserError {
  code: string | null;
  field: string[] | null;
  message: string;
}

/** Codes that mean this quantity can never be set as sent: skip it until the ledger sends another count. */
const PERMANENT = new Set([
  'INVALID_INVENTORY_ITEM',
  'INVALID_LOCATION',
  'ITEM_NOT_STOCKED_AT_LOCATION',
  'NON_MUTABLE_INVENTORY_ITEM',
  'INVALID_QUANTITY_NEGATIVE',
  'INVALID_QUANTITY_TOO_HIGH',
  'INVALID_QUANTITY_TOO_LOW',
  'NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR',
]);

export const toGid = (kind: 'InventoryItem' | 'Location', id: string) => (id.startsWith('gid://') ? id : `gid://shopify/${kind}/${id}`);

/**
 * Shopify Admin GraphQL. Sets `available` with inventorySetQuantities, many items per call, each with
 * changeFromQuantity (compare-and-swap) and the call under @idempotent(key:) — a new key for every
 * distinct request, the same key when the very request is retried. A stale changeFromquantity means
 * Shopify changed the count itself (it moves units from available to committed on each order): the
 * adapter re-reads those levels and sets the lower of the ledger's count and what Shopify has, never
 * more than the ledger allows. Calls are paced by the cost-based throttle Shopify reports in
 * `extensions.cost.throttleStatus`; a THROTTLED answer waits for the bucket to refill.
 */
export class ShopifyAdapter implements ChannelAdapter {
  readonly kind = 'shopify';
  readonly plan: BatchPlan;
  private readonly fetch: typeof fetch;
  private readonly logger: LoggerService;
  private readonly metrics: ConnectorMetrics;
  private readonly endpoint: URL;
  private throttle: (ThrottleStatus & { at: number }) | null = null;
  private lastCost = new Map<string, number>();

  constructor(private readonly options: ShopifyAdapterOptions) {
    const version = options.apiVersion ?? '2026-01';
    if (!/^\d{4}-\d{2}$/.test(version) || version < '2026-01') throw new Error(`SHOPIFY_API_VERSION must be 2026-01 or later, got ${version}`);
    this.endpoint = new URL(`/admin/api/${version}/graphql.json`, options.adminUrl);
    this.plan = { maxBatchSize: options.batchSize ?? 100 };
    this.fetch = options.fetch ?? globalThis.fetch;
    this.logger = options.logger ?? new Logger(`Shopify:${options.channel}`);
    this.metrics = options.metrics ?? new ConnectorMetrics(options.channel, false);
  }

  async push(items: PushItem[]): Promise<PushOutcome[]> {
    const outcomes = new Map<string, PushOutcome>();
    // Where the connector does not know what Shopify shows, read it first: the CAS needs a base.
    const unknown = items.filter((item) => item.expected === null);
    const live = unknown.length ? await this.readLevels(unknown.map((item) => item.listing)) : new Map<string, number | null>();
    let rows = items.map((item) => ({ item, target: item.quantity, from: item.expected ?? live.get(item.listing.sku) ?? null, capped: false }));
    for (const row of rows) {
      if (row.item.expected === null && live.get(row.item.listing.sku) === null) {
        outcomes.set(row.item.listing.sku, { sku: row.item.listing.sku, status: 'rejected', reason: 'no inventory level for this item at this location' });
      }
    }
    rows = rows.filter((row) => !outcomes.has(row.item.listing.sku));
    const rounds = this.options.casRounds ?? 3;
    for (let round = 0; rows.length > 0; round++) {
      const errors = await this.setQuantities(rows.map((row) => ({ listing: row.item.listing, quantity: row.target, changeFrom: row.from })), maxPosition(rows.map((row) => row.item)));
      if (errors.length === 0) {
        for (const row of rows) {
          const sku = row.item.listing.sku;
          outcomes.set(sku, row.capped ? { sku, status: 'capped', quantity: row.target, live: row.from ?? row.target } : { sku, status: 'applied', quantity: row.target });
        }
        break;
      }
      const stale = new Set<number>();
      for (const error of errors) {
        const index = quantityIndex(error);
        const row = index === null ? undefined : rows[index];
        if (!row) throw new AdapterRejectedError(`inventorySetQuantities: ${error.code ?? ''} ${error.message}`);
        if (error.code === 'CHANGE_FROM_QUANTITY_STALE' || error.code === 'COMPARE_QUANTITY_STALE') stale.add(index as number);
        else if (error.code && PERMANENT.has(error.code)) outcomes.set(row.item.listing.sku, { sku: row.item.listing.sku, status: 'rejected', reason: `${error.code}: ${error.message}` });
        else outcomes.set(row.item.listing.sku, { sku: row.item.listing.sku, status: 'retry', reason: `${error.code ?? 'error'}: ${error.message}` });
      }
      if (stale.size > 0 && round + 1 >= rounds) {
        for (const index of stale) outcomes.set(rows[index].item.listing.sku, { sku: rows[index].item.listing.sku, status: 'retry', reason: 'Shopify kept changing the count (changeFromQuantity stale)' });
        stale.clear();
      }
      if (stale.size > 0) {
        const reread = await this.readLevels([...stale].map((index) => rows[index].item.listing));
        for (const index of stale) {
          const row = rows[index];
          const now = reread.get(row.item.listing.sku);
          if (now === null || now === undefined) {
            outcomes.set(row.item.listing.sku, { sku: row.item.listing.sku, status: 'rejected', reason: 'the inventory level disappeared' });
            continue;
          }
          // Shopify sold or changed units itself: never put back more than it has, nor more than the ledger allows.
          row.from = now;
          row.target = Math.min(row.item.quantity, now);
          row.capped = row.target < row.item.quantity;
        }
      }
      // The mutation is all or nothing: send again what is still undecided, under a new key.
      rows = rows.filter((row) => !outcomes.has(row.item.listing.sku));
    }
    return items.map((item) => outcomes.get(item.listing.sku) ?? { sku: item.listing.sku, status: 'retry', reason: 'no verdict' });
  }

  async readLive(listings: Listing[]): Promise<Map<string, number | null>> {
    return this.readLevels(listings);
  }

  /** `available` per SKU from InventoryItem.inventoryLevel(locationId).quantities; null when there is no level. */
  private async readLevels(listings: Listing[]): Promise<Map<string, number | null>> {
    const result = new Map<string, number | null>();
    const size = this.options.readBatchSize ?? 50;
    for (let start = 0; start < listings.length; start += size) {
      const chunk = listings.slice(start, start + size);
      const declarations = chunk.map((_, index) => `$i${index}: ID!, $l${index}: ID!`).join(', ');
      const fields = chunk
        .map((_, index) => `q${index}: inventoryItem(id: $i${index}) { id inventoryLevel(locationId: $l${index}) { quantities(names: ["available", "committed", "on_hand"]) { name quantity } } }`)
        .join('\n  ');
      const variables: Record<string, string> = {};
      chunk.forEach((listing, index) => {
        variables[`i${index}`] = toGid('InventoryItem', listing.externalId);
        variables[`l${index}`] = toGid('Location', listing.locationId ?? '');
      });
      const data = await this.graphql('levels', `query Levels(${declarations}) {\n  ${fields}\n}`, variables);
      chunk.forEach((listing, index) => {
        const quantities = data?.[`q${index}`]?.inventoryLevel?.quantities as { name: string; quantity: number }[] | undefined;
        result.set(listing.sku, quantities?.find((quantity) => quantity.name === 'available')?.quantity ?? null);
      });
    }
    return result;
  }

  private async setQuantities(rows: { listing: Listing; quantity: number; changeFrom: number | null }[], position: number): Promise<UserError[]> {
    const input = {
      name: 'available',
      reason: this.options.reason ?? 'correction',
      referenceDocumentUri: `gid://inventory-ledger/LedgerPosition/${position}`,
      quantities: rows.map(({ listing, quantity, changeFrom }) => ({
        inventoryItemId: toGid('InventoryItem', listing.externalId),
        locationId: toGid('Location', listing.locationId ?? ''),
        quantity,
        changeFromQuantity: changeFrom,
      })),
    };
    // One key per distinct request; the retries inside graphql() resend this very request with it.
    const data = await this.graphql('inventorySetQuantities', SET_MUTATION, { input, key: randomUUID() });
    const payload = data?.inventorySetQuantities;
    if (!payload) throw new TransientChannelError('inventorySetQuantities answered no payload');
    return (payload.userErrors ?? []) as UserError[];
  }

  /** One GraphQL call, paced by the throttle status, retried on THROTTLED, 429, 5xx and network errors. */
  private async graphql(operation: string, query: string, variables: Record<string, unknown>): Promise<any> {
    return withRetries(
      async () => {
        await this.pace(operation);
        const response = await fetchOrTransient(
          this.fetch,
          this.endpoint,
          { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Shopify-Access-Token': this.options.accessToken }, body: JSON.stringify({ query, variables }) },
          `Shopify ${operation}`,
        );
        const body = await readJson(response);
        this.noteCost(operation, body?.extensions?.cost);
        if (!response.ok) {
          const error = errorForStatus(`Shopify ${operation}`, response, body);
          this.count(operation, error);
          throw error;
        }
        const errors = (body?.errors ?? []) as { message: string; extensions?: { code?: string } }[];
        if (errors.some((error) => error.extensions?.code === 'THROTTLED' || /throttled/i.test(error.message))) {
          const error = new TransientChannelError(`Shopify ${operation} throttled`, this.refillWaitMs(body?.extensions?.cost?.requestedQueryCost ?? 10), true);
          this.count(operation, error);
          throw error;
        }
        if (errors.length > 0) {
          const error = new AdapterRejectedError(`Shopify ${operation}: ${errors.map((e) => e.message).join('; ')}`);
          this.count(operation, error);
          throw error;
        }
        this.metrics.calls.inc({ channel: this.options.channel, operation, outcome: 'ok' });
        return body?.data;
      },
      { maxAttempts: 8, onRetry: () => this.metrics.retries.inc({ channel: this.options.channel }) },
    );
  }

  private count(operation: string, error: Error): void {
    const throttled = error instanceof TransientChannelError && error.throttled;
    if (throttled) this.metrics.throttles.inc({ channel: this.options.channel });
    this.metrics.calls.inc({ channel: this.options.channel, operation, outcome: throttled ? 'throttled' : error instanceof AdapterRejectedError ? 'rejected' : 'failed' });
  }

  private noteCost(operation: string, cost: { requestedQueryCost?: number; actualQueryCost?: number | null; throttleStatus?: ThrottleStatus } | undefined): void {
    if (!cost?.throttleStatus) return;
    this.throttle = { ...cost.throttleStatus, at: Date.now() };
    if (typeof cost.requestedQueryCost === 'number') this.lastCost.set(operation, cost.requestedQueryCost);
  }

  /** Waits until the bucket (as last reported, refilled at its restore rate) holds the call's expected cost. */
  private async pace(operation: string): Promise<void> {
    const wait = this.refillWaitMs(this.lastCost.get(operation) ?? 10);
    if (wait > 0) await delay(wait);
  }

  private refillWaitMs(cost: number): number {
    if (!this.throttle || this.throttle.restoreRate <= 0) return 0;
    const elapsed = (Date.now() - this.throttle.at) / 1000;
    const available = Math.min(this.throttle.maximumAvailable, this.throttle.currentlyAvailable + elapsed * this.throttle.restoreRate);
    return available >= cost ? 0 : Math.ceil(((cost - available) / this.throttle.restoreRate) * 1000);
  }
}

function maxPosition(items: PushItem[]): number {
  return items.reduce((max, item) => Math.max(max, item.version.position), 0);
}

/** `["input", "quantities", "3", "changeFromQuantity"]` -> 3. */
function quantityIndex(error: UserError): number | null {
  const at = error.field?.indexOf('quantities') ?? -1;
  if (at < 0 || !error.field) return null;
  const index = Number(error.field[at + 1]);
  return Number.isInteger(index) ? index : null;
}
