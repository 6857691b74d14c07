import type { AvailabilityVersion } from '../revision-rule';

/** A count and the ledger version it comes from. */
export interface AppliedAvailability extends AvailabilityVersion {
  available: number;
}

export type SkuSyncStatus = 'pending' | 'synced' | 'accepted' | 'rejected';

/** Everything the connector keeps per SKU of its channel. */
export interface SkuSyncState {
  sku: string;
  /** The newest count the ledger sent (it passed the revision rule), and when it arrived (ms). */
  desired: AppliedAvailability & { receivedAt: number };
  /** The last count pushed and taken by the channel, with its ledger version. */
  applied: (AppliedAvailability & { at: number }) | null;
  /** What the channel shows as far as the connector knows (the last count set, minus channel sales seen). */
  shown: number | null;
  status: SkuSyncStatus;
  lastError: string | null;
  /** When reconciliation first saw the channel show less than `shown` (ms); null: no such drift. */
  driftSince: number | null;
}

/** A webhook or poll the connector already handled, and the orders it passed on. */
export interface OrderRecord {
  orderId: string;
  status: 'held' | 'committed' | 'cancelled' | 'refused';
  lines: { lineId: string; sku: string; quantity: number }[];
  /** Units of a line refunded (cancelled) before fulfilment, by lineId. */
  refunded: Record<string, number>;
  updatedAt: number;
}

/**
 * What a connector keeps so that a restart loses no update and repeats none that matter: per SKU the
 * desired and applied counts with their versions (the revision rule runs against `desired`), the
 * source's cursor (SSE Last-Event-ID, poll windows), handled webhook ids and order states. Writes are
 * synchronous: a source acknowledges an update only after `offer` returned.
 */
export interface SyncStateStore {
  /** What was applied for a SKU (the reference consumer's view). */
  get(sku: string): AppliedAvailability | undefined;
  state(sku: string): SkuSyncState | undefined;
  /** Records newer counts (the caller checked the revision rule) and, in the same write, a source cursor. */
  offer(updates: { sku: string; available: number; revision: number; position: number; receivedAt: number }[], cursor?: { name: string; value: string }): void;
  /** The channel took `pushed`; it shows `shown`. Pending again if a newer desired count arrived meanwhile. */
  markPushed(sku: string, pushed: AppliedAvailability, shown: number, status: 'synced' | 'accepted', at: number): void;
  /** The channel refused `version` for good; a newer count makes the SKU pending again. */
  markRejected(sku: string, version: AvailabilityVersion, reason: string): void;
  /** Puts a SKU back in the queue (a failed verdict, a drift repair). */
  markPending(sku: string, reason: string | null): void;
  setShown(sku: string, shown: number | null): void;
  setDriftSince(sku: string, since: number | null): void;
  pending(): SkuSyncState[];
  all(): SkuSyncState[];
  cursor(name: string): string | null;
  setCursor(name: string, value: string): void;
  /** True the first time a key is seen (webhook ids, notification ids); false for a repeat. */
  remember(key: string, at: number): boolean;
  seen(key: string): boolean;
  order(orderId: string): OrderRecord | undefined;
  saveOrder(order: OrderRecord): void;
  close(): void;
}

/** The store in memory: for tests and for the Kafka reference setup, where a restart reads the compacted topic again. */
export class InMemoryAvailabilityStore implements SyncStateStore {
  private readonly skus = new Map<string, SkuSyncState>();
  private readonly cursors = new Map<string, string>();
  private readonly seen_ = new Set<string>();
  private readonly orders = new Map<string, OrderRecord>();

  get(sku: string): AppliedAvailability | undefined {
    const applied = this.skus.get(sku)?.applied;
    return applied ? { available: applied.available, revision: applied.revision, position: applied.position } : undefined;
  }

  state(sku: string): SkuSyncState | undefined {
    const state = this.skus.get(sku);
    return state ? structuredClone(state) : undefined;
  }

  offer(updates: { sku: string; available: number; revision: number; position: number; receivedAt: number }[], cursor?: { name: string; value: string }): void {
    for (const { sku, available, revision, position, receivedAt } of updates) {
      const current = this.skus.get(sku);
      const desired = { available, revision, position, receivedAt };
      if (current) Object.assign(current, { desired, status: 'pending', lastError: null });
      else this.skus.set(sku, { sku, desired, applied: null, shown: null, status: 'pending', lastError: null, driftSince: null });
    }
    if (cursor) this.cursors.set(cursor.name, cursor.value);
  }

  markPushed(sku: string, pushed: AppliedAvailability, shown: number, status: 'synced' | 'accepted', at: number): void {
    const state = this.skus.get(sku);
    if (!state) return;
    state.applied = { ...pushed, at };
    state.shown = shown;
    state.driftSince = null;
    const current = state.desired.revision === pushed.revision && state.desired.position === pushed.position;
    state.status = current ? status : 'pending';
    state.lastError = null;
  }

  markRejected(sku: string, version: AvailabilityVersion, reason: string): void {
    const state = this.skus.get(sku);
    if (!state) return;
    const current = state.desired.revision === version.revision && state.desired.position === version.position;
    state.status = current ? 'rejected' : 'pending';
    state.lastError = reason;
  }

  markPending(sku: string, reason: string | null): void {
    const state = this.skus.get(sku);
    if (!state) return;
    state.status = 'pending';
    state.lastError = reason;
  }

  setShown(sku: string, shown: number | null): void {
    const state = this.skus.get(sku);
    if (state) state.shown = shown;
  }

  setDriftSince(sku: string, since: number | null): void {
    const state = this.skus.get(sku);
    if (state) state.driftSince = since;
  }

  pending(): SkuSyncState[] {
    return [...this.skus.values()].filter((state) => state.status === 'pending').map((state) => structuredClone(state));
  }

  all(): SkuSyncState[] {
    return [...this.skus.values()].map((state) => structuredClone(state));
  }

  /** Everything applied so far, by SKU. */
  entries(): Map<string, AppliedAvailability> {
    const entries = new Map<string, AppliedAvailability>();
    for (const sku of this.skus.keys()) {
      const applied = this.get(sku);
      if (applied) entries.set(sku, applied);
    }
    return entries;
  }

  cursor(name: string): string | null {
    return this.cursors.get(name) ?? null;
  }

  setCursor(name: string, value: string): void {
    this.cursors.set(name, value);
  }

  remember(key: string): boolean {
    if (this.seen_.has(key)) return false;
    this.seen_.add(key);
    return true;
  }

  seen(key: string): boolean {
    return this.seen_.has(key);
  }

  order(orderId: string): OrderRecord | undefined {
    const order = this.orders.get(orderId);
    return order ? structuredClone(order) : undefined;
  }

  saveOrder(order: OrderRecord): void {
    this.orders.set(order.orderId, structuredClone(order));
  }

  close(): void {}
}
