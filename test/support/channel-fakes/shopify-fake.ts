import { createHmac, randomUUID } from 'node:crypto';
import { Kind, parse, valueFromASTUntyped, type DirectiveNode, type FieldNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { startFakeServer, type FakeRequest, type FakeResponse, type FakeServer } from './fake-server';

/**
 * A local Shopify Admin GraphQL API, written from Shopify's reference (see REFERENCES.md):
 * `POST /admin/api/<version>/graphql.json` with X-Shopify-Access-Token; `inventorySetQuantities`
 * (name, reason, referenceDocumentUri, quantities with changeFromQuantity compare-and-swap; all or
 * nothing; userErrors with codes and field paths; @idempotent(key:) replaying the first result and
 * refusing the key with other parameters); `inventoryItem(id).inventoryLevel(locationId).quantities(names)`;
 * the cost-based leaky bucket in `extensions.cost` and `Throttled` errors (code THROTTLED); and the
 * shop's own sales, which move units from available to committed.
 */
export interface ShopifyFakeOptions {
  accessToken?: string;
  /** Bucket size and restore rate (points per second). Standard plans: 100 points/s. */
  maximumAvailable?: number;
  restoreRate?: number;
  /** Points a mutation costs (Shopify: 10). */
  mutationCost?: number;
}

interface Level {
  available: number;
  committed: number;
  unavailable: number;
}

const REASONS = new Set(['correction', 'cycle_count_available', 'damaged', 'movement_created', 'movement_updated', 'movement_received', 'movement_canceled', 'other', 'promotion', 'quality_control', 'received', 'reservation_created', 'reservation_deleted', 'reservation_updated', 'restock', 'safety_stock', 'shrinkage']);

export class ShopifyFake {
  readonly stats = { calls: 0, mutations: 0, queries: 0, throttled: 0, stale: 0, idempotentReplays: 0, maxQuantitiesPerCall: 0, minCurrentlyAvailable: Infinity };
  readonly mutations: { key: string | null; input: any }[] = [];
  readonly versions = new Set<string>();
  private server: FakeServer | null = null;
  private readonly levels = new Map<string, Level>();
  private readonly idempotency = new Map<string, { params: string; answer: unknown }>();
  private bucket: number;
  private bucketAt = Date.now();
  private groups = 0;
  private readonly options: Required<ShopifyFakeOptions>;

  constructor(options: ShopifyFakeOptions = {}) {
    this.options = { accessToken: 'shpat_test', maximumAvailable: 1000, restoreRate: 100, mutationCost: 10, ...options };
    this.bucket = this.options.maximumAvailable;
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

  /** Stocks an item at a location. Ids may be numeric or gids. */
  addLevel(inventoryItemId: string, locationId: string, available: number): void {
    this.levels.set(levelKey(inventoryItemId, locationId), { available, committed: 0, unavailable: 0 });
  }

  level(inventoryItemId: string, locationId: string): Level & { on_hand: number } {
    const level = this.levels.get(levelKey(inventoryItemId, locationId));
    if (!level) throw new Error(`no level ${inventoryItemId}@${locationId}`);
    return { ...level, on_hand: level.available + level.committed + level.unavailable };
  }

  /** A sale in the shop: Shopify moves the units from available to committed. False when not enough is available. */
  sell(inventoryItemId: string, locationId: string, quantity: number): boolean {
    const level = this.levels.get(levelKey(inventoryItemId, locationId));
    if (!level || level.available < quantity) return false;
    level.available -= quantity;
    level.committed += quantity;
    return true;
  }

  /** Fulfilment: committed units leave the location. */
  fulfill(inventoryItemId: string, locationId: string, quantity: number): void {
    const level = this.levels.get(levelKey(inventoryItemId, locationId))!;
    level.committed -= quantity;
  }

  /** A merchant's edit in the Shopify admin. */
  edit(inventoryItemId: string, locationId: string, available: number): void {
    this.levels.get(levelKey(inventoryItemId, locationId))!.available = available;
  }

  private refill(): number {
    const now = Date.now();
    this.bucket = Math.min(this.options.maximumAvailable, this.bucket + ((now - this.bucketAt) / 1000) * this.options.restoreRate);
    this.bucketAt = now;
    return this.bucket;
  }

  private cost(requested: number, actual: number | null) {
    return {
      requestedQueryCost: requested,
      actualQueryCost: actual,
      throttleStatus: { maximumAvailable: this.options.maximumAvailable, currentlyAvailable: Math.floor(this.bucket), restoreRate: this.options.restoreRate },
    };
  }

  private handle(request: FakeRequest): FakeResponse {
    const match = /^\/admin\/api\/(\d{4}-\d{2}|unstable)\/graphql\.json$/.exec(request.path);
    if (!match || request.method !== 'POST') return { status: 404, body: { errors: 'Not Found' } };
    if (request.headers['x-shopify-access-token'] !== this.options.accessToken) {
      return { status: 401, body: { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' } };
    }
    this.stats.calls += 1;
    const version = match[1];
    this.versions.add(version);
    let operation: OperationDefinitionNode;
    try {
      const document = parse(String(request.json?.query ?? ''));
      operation = document.definitions.find((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION)!;
      if (!operation) throw new Error('no operation');
    } catch (error) {
      return { status: 200, body: { errors: [{ message: `syntax error: ${(error as Error).message}`, extensions: { code: 'SYNTAX_ERROR' } }] } };
    }
    const variables = (request.json?.variables ?? {}) as Record<string, unknown>;
    const fields = operation.selectionSet.selections.filter((selection): selection is FieldNode => selection.kind === Kind.FIELD);
    const requested = operation.operation === 'mutation' ? this.options.mutationCost * fields.length : 1 + fields.length * 2;
    // The leaky bucket: a call needs its requested cost available, else it is throttled and costs nothing.
    if (this.refill() < requested) {
      this.stats.throttled += 1;
      return { status: 200, body: { errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' } }], extensions: { cost: this.cost(requested, null) } } };
    }
    this.bucket -= requested;
    this.stats.minCurrentlyAvailable = Math.min(this.stats.minCurrentlyAvailable, this.bucket);
    const data: Record<string, unknown> = {};
    for (const field of fields) {
      const alias = field.alias?.value ?? field.name.value;
      const args = argumentsOf(field, variables);
      if (operation.operation === 'mutation' && field.name.value === 'inventorySetQuantities') {
        this.stats.mutations += 1;
        const key = idempotencyKey(field.directives ?? [], variables);
        if (version >= '2026-04' && key === null) return { status: 200, body: { errors: [{ message: 'The @idempotent directive is required for this mutation', extensions: { code: 'BAD_REQUEST' } }] } };
        data[alias] = select(this.setQuantities(args.input, key, version), field.selectionSet);
      } else if (operation.operation === 'query' && field.name.value === 'inventoryItem') {
        this.stats.queries += 1;
        data[alias] = this.inventoryItem(String(args.id), field.selectionSet, variables);
      } else {
        return { status: 200, body: { errors: [{ message: `Field '${field.name.value}' doesn't exist on type '${operation.operation === 'mutation' ? 'Mutation' : 'QueryRoot'}'`, extensions: { code: 'undefinedField' } }] } };
      }
    }
    return { status: 200, body: { data, extensions: { cost: this.cost(requested, requested) } } };
  }

  private setQuantities(input: any, key: string | null, version: string): unknown {
    const params = JSON.stringify(input);
    if (key !== null) {
      const previous = this.idempotency.get(key);
      if (previous && previous.params === params) {
        this.stats.idempotentReplays += 1;
        return previous.answer;
      }
      if (previous) return { inventoryAdjustmentGroup: null, userErrors: [{ code: 'IDEMPOTENCY_KEY_PARAMETER_MISMATCH', field: null, message: 'The same idempotency key cannot be used with different operation parameters.' }] };
    }
    const answer = this.applySet(input, version);
    if (key !== null) this.idempotency.set(key, { params, answer });
    return answer;
  }

  private applySet(input: any, version: string): unknown {
    const errors: { code: string; field: string[] | null; message: string }[] = [];
    if (input?.name !== 'available' && input?.name !== 'on_hand') errors.push({ code: 'INVALID_NAME', field: ['input', 'name'], message: "The quantity name must be either 'available' or 'on_hand'." });
    if (!REASONS.has(input?.reason)) errors.push({ code: 'INVALID_REASON', field: ['input', 'reason'], message: 'The specified reason is invalid.' });
    if (input?.referenceDocumentUri !== undefined && input.referenceDocumentUri !== null && !/^[a-z][a-z0-9+.-]*:\/\/?.+/i.test(String(input.referenceDocumentUri))) {
      errors.push({ code: 'INVALID_REFERENCE_DOCUMENT', field: ['input', 'referenceDocumentUri'], message: 'The specified reference document is invalid.' });
    }
    const quantities = (input?.quantities ?? []) as any[];
    this.stats.maxQuantitiesPerCall = Math.max(this.stats.maxQuantitiesPerCall, quantities.length);
    const seen = new Set<string>();
    quantities.forEach((quantity, index) => {
      const field = (name: string) => ['input', 'quantities', String(index), name];
      const key = levelKey(quantity.inventoryItemId, quantity.locationId);
      const level = this.levels.get(key);
      if (seen.has(key)) errors.push({ code: 'NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR', field: field('inventoryItemId'), message: 'The combination of inventoryItemId and locationId must be unique.' });
      seen.add(key);
      if (![...this.levels.keys()].some((existing) => existing.startsWith(`${numeric(quantity.inventoryItemId)}@`))) {
        errors.push({ code: 'INVALID_INVENTORY_ITEM', field: field('inventoryItemId'), message: 'The specified inventory item could not be found.' });
      } else if (!level) {
        errors.push({ code: 'ITEM_NOT_STOCKED_AT_LOCATION', field: field('locationId'), message: 'The specified inventory item is not stocked at the location.' });
      }
      if (!Number.isInteger(quantity.quantity) || quantity.quantity < 0) errors.push({ code: 'INVALID_QUANTITY_NEGATIVE', field: field('quantity'), message: "The quantity can't be negative." });
      // From 2026-04 every quantity must carry changeFromQuantity (null opts out); the connector always sends it.
      if (!('changeFromQuantity' in quantity) && version >= '2026-04') errors.push({ code: 'CHANGE_FROM_QUANTITY_STALE', field: field('changeFromQuantity'), message: 'changeFromQuantity is required.' });
      if (level && quantity.changeFromQuantity !== null && quantity.changeFromQuantity !== undefined && quantity.changeFromQuantity !== level.available) {
        this.stats.stale += 1;
        errors.push({ code: 'CHANGE_FROM_QUANTITY_STALE', field: field('changeFromQuantity'), message: 'The changeFromQuantity value does not match persisted value.' });
      }
    });
    if (errors.length > 0) return { inventoryAdjustmentGroup: null, userErrors: errors };
    for (const quantity of quantities) this.levels.get(levelKey(quantity.inventoryItemId, quantity.locationId))!.available = quantity.quantity;
    this.mutations.push({ key: null, input });
    this.groups += 1;
    return {
      inventoryAdjustmentGroup: { id: `gid://shopify/InventoryAdjustmentGroup/${this.groups}`, reason: input.reason, referenceDocumentUri: input.referenceDocumentUri ?? null, createdAt: new Date().toISOString() },
      userErrors: [],
    };
  }

  private inventoryItem(id: string, selection: SelectionSetNode | undefined, variables: Record<string, unknown>): unknown {
    const item = numeric(id);
    if (![...this.levels.keys()].some((key) => key.startsWith(`${item}@`))) return null;
    const result: Record<string, unknown> = {};
    for (const field of (selection?.selections ?? []) as FieldNode[]) {
      const alias = field.alias?.value ?? field.name.value;
      if (field.name.value === 'id') result[alias] = `gid://shopify/InventoryItem/${item}`;
      else if (field.name.value === 'inventoryLevel') {
        const { locationId } = argumentsOf(field, variables);
        const level = this.levels.get(levelKey(id, String(locationId)));
        result[alias] = level ? this.levelObject(id, String(locationId), level, field.selectionSet, variables) : null;
      }
    }
    return result;
  }

  private levelObject(itemId: string, locationId: string, level: Level, selection: SelectionSetNode | undefined, variables: Record<string, unknown>): unknown {
    const result: Record<string, unknown> = {};
    for (const field of (selection?.selections ?? []) as FieldNode[]) {
      const alias = field.alias?.value ?? field.name.value;
      if (field.name.value === 'id') result[alias] = `gid://shopify/InventoryLevel/${numeric(itemId)}?inventory_item_id=${numeric(itemId)}&location_id=${numeric(locationId)}`;
      if (field.name.value === 'quantities') {
        const { names } = argumentsOf(field, variables) as { names: string[] };
        const values: Record<string, number> = { ...level, on_hand: level.available + level.committed + level.unavailable };
        result[alias] = names.map((name) => select({ name, quantity: values[name] ?? 0 }, field.selectionSet));
      }
    }
    return result;
  }
}

/** Signs a webhook as Shopify does and posts it: X-Shopify-Hmac-Sha256 over the raw body with the app's secret. */
export async function sendShopifyWebhook(url: string, topic: string, payload: unknown, secret: string, eventId: string = randomUUID(), options: { tamper?: boolean } = {}): Promise<Response> {
  const body = JSON.stringify(payload);
  const hmac = createHmac('sha256', secret).update(options.tamper ? `${body} ` : body).digest('base64');
  return fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-Shopify-Topic': topic,
      'X-Shopify-Hmac-Sha256': hmac,
      'X-Shopify-Shop-Domain': 'ledger-test.myshopify.com',
      'X-Shopify-API-Version': '2026-01',
      'X-Shopify-Webhook-Id': randomUUID(),
      'X-Shopify-Event-Id': eventId,
      'X-Shopify-Triggered-At': new Date().toISOString(),
    },
    body,
  });
}

function numeric(id: string): string {
  return String(id).replace(/^gid:\/\/shopify\/[A-Za-z]+\//, '');
}

function levelKey(inventoryItemId: string, locationId: string): string {
  return `${numeric(inventoryItemId)}@${numeric(locationId)}`;
}

function argumentsOf(field: FieldNode, variables: Record<string, unknown>): Record<string, any> {
  return Object.fromEntries((field.arguments ?? []).map((argument) => [argument.name.value, valueFromASTUntyped(argument.value, variables)]));
}

function idempotencyKey(directives: readonly DirectiveNode[], variables: Record<string, unknown>): string | null {
  const directive = directives.find((candidate) => candidate.name.value === 'idempotent');
  const key = directive?.arguments?.find((argument) => argument.name.value === 'key');
  return key ? String(valueFromASTUntyped(key.value, variables)) : null;
}

/** Projects a plain object onto a selection set (with aliases); objects without a selection pass as they are. */
function select(value: any, selection: SelectionSetNode | undefined): any {
  if (value === null || value === undefined || !selection) return value ?? null;
  if (Array.isArray(value)) return value.map((entry) => select(entry, selection));
  const result: Record<string, unknown> = {};
  for (const field of selection.selections as FieldNode[]) result[field.alias?.value ?? field.name.value] = select(value[field.name.value], field.selectionSet);
  return result;
}
