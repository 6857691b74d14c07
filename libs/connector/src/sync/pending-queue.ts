/** A count waiting to be pushed, with the ledger version it comes from. */
export interface PendingCount {
  sku: string;
  available: number;
  revision: number;
  position: number;
  /** When the update reached the connector (ms), for latency metrics. */
  receivedAt: number;
}

/**
 * The coalescing queue of one channel: at most one entry per SKU, the newest count replacing a
 * pending one in place (so a burst costs calls per SKU touched, not per event). Urgent counts (crossing
 * zero, or at or below the low-stock mark) are taken before the rest; within a class, first come first
 * served, and a replaced count keeps its place so a busy SKU cannot starve the others.
 */
export class PendingQueue {
  private readonly urgent = new Map<string, PendingCount>();
  private readonly normal = new Map<string, PendingCount>();

  /** Returns true when the SKU already had a count waiting (it was coalesced). */
  offer(count: PendingCount, urgent: boolean): boolean {
    const target = urgent ? this.urgent : this.normal;
    const other = urgent ? this.normal : this.urgent;
    const replaced = target.has(count.sku) || other.delete(count.sku);
    // Map.set on an existing key keeps its place in iteration order.
    target.set(count.sku, count);
    return replaced;
  }

  has(sku: string): boolean {
    return this.urgent.has(sku) || this.normal.has(sku);
  }

  get(sku: string): PendingCount | undefined {
    return this.urgent.get(sku) ?? this.normal.get(sku);
  }

  delete(sku: string): void {
    this.urgent.delete(sku);
    this.normal.delete(sku);
  }

  /** Removes and returns up to `limit` counts, urgent ones first. */
  take(limit: number): PendingCount[] {
    const taken: PendingCount[] = [];
    for (const source of [this.urgent, this.normal]) {
      for (const [sku, count] of source) {
        if (taken.length >= limit) return taken;
        taken.push(count);
        source.delete(sku);
      }
    }
    return taken;
  }

  get size(): number {
    return this.urgent.size + this.normal.size;
  }

  get urgentSize(): number {
    return this.urgent.size;
  }

  oldestReceivedAt(): number | null {
    let oldest: number | null = null;
    for (const source of [this.urgent, this.normal]) {
      for (const count of source.values()) if (oldest === null || count.receivedAt < oldest) oldest = count.receivedAt;
    }
    return oldest;
  }
}

/** Counts that cross zero (in stock to sold out, or back) or sit at or below the low-stock mark go first. */
export function isUrgent(quantity: number, shown: number | null, lowStockMark: number): boolean {
  if (shown !== null && quantity === shown) return false;
  if (shown !== null && (quantity > 0) !== (shown > 0)) return true;
  return quantity <= lowStockMark;
}
