import { Logger, type LoggerService } from '@nestjs/common';
import type { ChannelAdapter, PushItem, PushOutcome, SettledOutcome } from '../channel-adapter';
import { backoffDelay, TransientChannelError } from '../http/retry';
import { ListingCatalog } from '../listings';
import { ConnectorMetrics } from '../metrics';
import { isNewer } from '../revision-rule';
import { InMemoryAvailabilityStore, type SyncStateStore } from '../state/sync-state-store';
import { isUrgent, PendingQueue, type PendingCount } from './pending-queue';

/** One count for one SKU of this channel, from the topic, the stream or a resync page. */
export interface AvailabilityUpdate {
  sku: string;
  available: number;
  revision: number;
  position: number;
}

export interface OfferResult {
  accepted: number;
  stale: number;
  unlisted: number;
  coalesced: number;
}

export interface ChannelSyncOptions {
  channel: string;
  adapter: ChannelAdapter;
  store?: SyncStateStore;
  /** Default: every SKU listed under its own name (no listings source). */
  listings?: ListingCatalog;
  metrics?: ConnectorMetrics;
  logger?: LoggerService;
  /** Counts at or below this go first. Default 5. */
  lowStockMark?: number;
  /** Pause after a whole push failed, doubling per failure. Default 500 ms to 30 s. */
  backoff?: { initialMs: number; maxMs: number };
  /** How often accepted submissions (Amazon feeds) are checked. Default 5 s. */
  settleIntervalMs?: number;
  now?: () => number;
}

/**
 * Keeps one channel equal to the ledger. Sources `offer` counts; each passes the revision rule
 * against the newest count recorded for its SKU (durably, before the source acknowledges it), and
 * replaces any count of that SKU still waiting. One loop pushes the waiting counts in batches as large
 * as the channel's API allows, urgent ones first, one push in flight at a time; a failed push is
 * retried after a growing pause, per-SKU refusals are recorded and skipped.
 */
export class ChannelSync {
  readonly channel: string;
  readonly store: SyncStateStore;
  readonly listings: ListingCatalog;
  readonly metrics: ConnectorMetrics;
  private readonly adapter: ChannelAdapter;
  private readonly logger: LoggerService;
  private readonly lowStockMark: number;
  private readonly backoff: { initialMs: number; maxMs: number };
  private readonly settleIntervalMs: number;
  private readonly now: () => number;
  private readonly queue = new PendingQueue();
  /** Per-SKU retries waiting for their time. */
  private readonly delayed = new Map<string, { count: PendingCount; at: number; attempts: number }>();
  /** Accepted (not yet confirmed) submissions: when their update arrived, for the visible-lag metric. */
  private readonly awaitingVerdict = new Map<string, { receivedAt: number; revision: number; position: number }>();
  /**
   * Units the channel was seen to take off its own count (a stale CAS) that no order passed on has
   * explained yet. An order for them then lowers this rather than what the channel shows, which
   * already reflects the sale.
   */
  private readonly unexplained = new Map<string, number>();
  private inFlight = 0;
  private failures = 0;
  private pausedUntil = 0;
  private lastSettle = 0;
  private running: Promise<void> | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;

  constructor(options: ChannelSyncOptions) {
    this.channel = options.channel;
    this.adapter = options.adapter;
    this.store = options.store ?? new InMemoryAvailabilityStore();
    this.listings = options.listings ?? new ListingCatalog([], true);
    this.metrics = options.metrics ?? new ConnectorMetrics(options.channel, false);
    this.logger = options.logger ?? new Logger(`ChannelSync:${options.channel}`);
    this.lowStockMark = options.lowStockMark ?? 5;
    this.backoff = options.backoff ?? { initialMs: 500, maxMs: 30_000 };
    this.settleIntervalMs = options.settleIntervalMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  /** Queues what the store says is still pending (after a restart) and starts pushing. */
  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.requeueStored();
    this.running = this.loop().catch((error: unknown) => this.logger.error(`push loop stopped: ${(error as Error).stack ?? error}`));
  }

  /** Stops after the push in progress; waiting counts stay in the store for the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
    this.running = null;
  }

  /**
   * Records every update newer than the one its SKU has (the revision rule), with the source's cursor
   * in the same write, and queues the listed ones. Synchronous: once it returns, a restart keeps them.
   */
  offer(updates: AvailabilityUpdate[], cursor?: { name: string; value: string }): OfferResult {
    const result: OfferResult = { accepted: 0, stale: 0, unlisted: 0, coalesced: 0 };
    const receivedAt = this.now();
    const newest = new Map<string, AvailabilityUpdate>();
    for (const update of updates) {
      const known = newest.get(update.sku) ?? this.store.state(update.sku)?.desired;
      if (!isNewer(update, known)) {
        result.stale += 1;
        continue;
      }
      result.accepted += 1;
      if (newest.has(update.sku)) result.coalesced += 1;
      newest.set(update.sku, update);
    }
    this.store.offer([...newest.values()].map((update) => ({ ...update, receivedAt })), cursor);
    for (const update of newest.values()) {
      if (!this.listings.get(update.sku)) result.unlisted += 1;
      else if (this.enqueue({ ...update, receivedAt })) result.coalesced += 1;
    }
    this.metrics.updates.inc({ channel: this.channel, outcome: 'accepted' }, result.accepted - result.unlisted);
    if (result.unlisted) this.metrics.updates.inc({ channel: this.channel, outcome: 'unlisted' }, result.unlisted);
    if (result.stale) this.metrics.updates.inc({ channel: this.channel, outcome: 'stale' }, result.stale);
    if (result.coalesced) this.metrics.coalesced.inc({ channel: this.channel }, result.coalesced);
    this.refreshGauges();
    this.wake?.();
    return result;
  }

  /** The connector saw the channel sell `quantity` itself (a Shopify order it passed on): lower what it shows. */
  noteChannelSale(sku: string, quantity: number): void {
    const seen = this.unexplained.get(sku) ?? 0;
    const explained = Math.min(seen, quantity);
    if (seen - explained > 0) this.unexplained.set(sku, seen - explained);
    else this.unexplained.delete(sku);
    const shown = this.store.state(sku)?.shown;
    if (quantity > explained && shown !== null && shown !== undefined) this.store.setShown(sku, Math.max(0, shown - (quantity - explained)));
  }

  /** Pushes a SKU's newest count again (drift repair); `shown` is what the channel was seen to show. */
  repair(sku: string, shown: number | null, reason: string): void {
    const state = this.store.state(sku);
    if (!state || !this.listings.get(sku)) return;
    this.store.setShown(sku, shown);
    this.store.markPending(sku, reason);
    this.enqueue({ sku: state.sku, ...state.desired });
    this.wake?.();
  }

  /** Listings changed: queue the pending counts of SKUs that gained a listing. */
  listingsAdded(skus: string[]): void {
    for (const sku of skus) {
      const state = this.store.state(sku);
      if (state?.status === 'pending') this.enqueue({ sku: state.sku, ...state.desired });
    }
    this.wake?.();
  }

  /** Counts waiting or in flight, submissions awaiting a verdict. */
  backlog(): { pending: number; delayed: number; inFlight: number; unsettled: number } {
    return { pending: this.queue.size, delayed: this.delayed.size, inFlight: this.inFlight, unsettled: this.adapter.unsettled?.() ?? 0 };
  }

  /** Resolves once nothing waits, nothing is in flight and no submission awaits its verdict (tests, shutdown). */
  async idle(timeoutMs = 60_000): Promise<void> {
    const until = this.now() + timeoutMs;
    for (;;) {
      const { pending, delayed, inFlight, unsettled } = this.backlog();
      if (pending + delayed + inFlight + unsettled === 0) return;
      if (Date.now() > until) throw new Error(`channel ${this.channel} not idle: ${JSON.stringify(this.backlog())}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private requeueStored(): void {
    for (const state of this.store.pending()) {
      if (this.listings.get(state.sku)) this.enqueue({ sku: state.sku, ...state.desired });
    }
  }

  private enqueue(count: PendingCount): boolean {
    this.delayed.delete(count.sku);
    const shown = this.store.state(count.sku)?.shown ?? null;
    return this.queue.offer(count, isUrgent(count.available, shown, this.lowStockMark));
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const now = this.now();
      for (const [sku, entry] of this.delayed) {
        if (entry.at <= now && !this.queue.has(sku)) {
          this.delayed.delete(sku);
          this.queue.offer(entry.count, isUrgent(entry.count.available, this.store.state(sku)?.shown ?? null, this.lowStockMark));
        }
      }
      if ((this.adapter.unsettled?.() ?? 0) > 0 && now - this.lastSettle >= this.settleIntervalMs) await this.settle();
      if (this.queue.size > 0 && now >= this.pausedUntil) {
        await this.pushNext();
        continue;
      }
      await this.sleep(this.nextWakeIn(now));
    }
  }

  private nextWakeIn(now: number): number {
    let wait = 1_000;
    if (this.queue.size > 0) wait = Math.min(wait, Math.max(0, this.pausedUntil - now));
    for (const entry of this.delayed.values()) wait = Math.min(wait, Math.max(0, entry.at - now));
    if ((this.adapter.unsettled?.() ?? 0) > 0) wait = Math.min(wait, Math.max(0, this.lastSettle + this.settleIntervalMs - now));
    return wait;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  private async pushNext(): Promise<void> {
    const { plan } = this.adapter;
    const bulk = !!plan.bulk && this.queue.size >= plan.bulk.threshold && plan.bulk.available();
    const batch = this.queue.take(bulk && plan.bulk ? plan.bulk.maxBatchSize : plan.maxBatchSize);
    const items: PushItem[] = batch.map((count) => ({
      listing: this.listings.get(count.sku)!,
      quantity: Math.max(0, count.available),
      expected: this.store.state(count.sku)?.shown ?? null,
      version: { revision: count.revision, position: count.position },
    }));
    this.inFlight = batch.length;
    this.refreshGauges();
    let outcomes: PushOutcome[];
    try {
      outcomes = await this.adapter.push(items, { bulk });
      this.failures = 0;
    } catch (error) {
      this.failures += 1;
      const wait = (error as TransientChannelError).retryAfterMs ?? backoffDelay(this.failures, this.backoff);
      this.pausedUntil = this.now() + wait;
      // Put the batch back unless a newer count arrived for a SKU meanwhile.
      for (const count of batch) if (!this.queue.has(count.sku)) this.queue.offer(count, isUrgent(count.available, this.store.state(count.sku)?.shown ?? null, this.lowStockMark));
      this.logger.warn(`push of ${batch.length} SKUs to ${this.channel} failed (${(error as Error).message}); again in ${wait} ms`);
      this.inFlight = 0;
      this.refreshGauges();
      return;
    }
    const bySku = new Map(outcomes.map((outcome) => [outcome.sku, outcome]));
    const now = this.now();
    batch.forEach((count, index) => this.record(count, bySku.get(count.sku) ?? { sku: count.sku, status: 'retry', reason: 'the channel gave no verdict' }, now, items[index].expected));
    this.inFlight = 0;
    this.refreshGauges();
  }

  private record(count: PendingCount, outcome: PushOutcome, now: number, expected: number | null): void {
    const version = { available: count.available, revision: count.revision, position: count.position };
    this.metrics.pushed.inc({ channel: this.channel, outcome: outcome.status });
    switch (outcome.status) {
      case 'applied':
      case 'capped':
        this.store.markPushed(count.sku, version, outcome.quantity, 'synced', now);
        this.metrics.pushLatency.observe({ channel: this.channel }, (now - count.receivedAt) / 1000);
        this.metrics.visibleLag.observe({ channel: this.channel }, (now - count.receivedAt) / 1000);
        if (outcome.status === 'capped' && expected !== null && outcome.live < expected) {
          this.unexplained.set(count.sku, (this.unexplained.get(count.sku) ?? 0) + expected - outcome.live);
        }
        if (outcome.status === 'capped') {
          this.logger.warn(`${this.channel} ${count.sku}: the channel had changed the count itself (shows ${outcome.live}); set ${outcome.quantity}, not above the ledger's ${count.available}`);
        }
        this.delayed.delete(count.sku);
        return;
      case 'accepted':
        this.store.markPushed(count.sku, version, outcome.quantity, 'accepted', now);
        this.metrics.pushLatency.observe({ channel: this.channel }, (now - count.receivedAt) / 1000);
        this.awaitingVerdict.set(count.sku, { receivedAt: count.receivedAt, revision: count.revision, position: count.position });
        this.delayed.delete(count.sku);
        return;
      case 'rejected':
        this.store.markRejected(count.sku, version, outcome.reason);
        this.logger.error(`${this.channel} refused ${count.sku} = ${count.available}: ${outcome.reason}`);
        return;
      case 'retry': {
        if (this.queue.has(count.sku)) return;
        const attempts = (this.delayed.get(count.sku)?.attempts ?? 0) + 1;
        const wait = outcome.retryAfterMs ?? backoffDelay(attempts, this.backoff);
        this.delayed.set(count.sku, { count, at: now + wait, attempts });
        this.logger.warn(`${this.channel} ${count.sku}: ${outcome.reason}; again in ${wait} ms`);
      }
    }
  }

  private async settle(): Promise<void> {
    this.lastSettle = this.now();
    let verdicts: SettledOutcome[];
    try {
      verdicts = (await this.adapter.settle?.()) ?? [];
    } catch (error) {
      this.logger.warn(`checking ${this.channel} submissions failed: ${(error as Error).message}`);
      return;
    }
    const now = this.now();
    for (const verdict of verdicts) {
      const waiting = this.awaitingVerdict.get(verdict.sku);
      this.awaitingVerdict.delete(verdict.sku);
      const state = this.store.state(verdict.sku);
      if (!state) continue;
      this.metrics.pushed.inc({ channel: this.channel, outcome: `settled_${verdict.status}` });
      if (verdict.status === 'applied') {
        const lag = waiting ? (now - waiting.receivedAt) / 1000 : verdict.processingSeconds;
        if (lag !== undefined) this.metrics.visibleLag.observe({ channel: this.channel }, lag);
        if (state.status === 'accepted') this.store.markPushed(verdict.sku, state.applied ?? state.desired, verdict.quantity, 'synced', now);
        continue;
      }
      if (verdict.status === 'rejected' && state.applied) {
        this.store.markRejected(verdict.sku, state.applied, verdict.reason ?? 'refused by the channel');
        this.logger.error(`${this.channel} refused ${verdict.sku} = ${verdict.quantity}: ${verdict.reason}`);
        if (state.status === 'pending') this.enqueue({ sku: state.sku, ...state.desired });
        continue;
      }
      // Failed for now: push the newest count again.
      this.store.markPending(verdict.sku, verdict.reason ?? null);
      if (this.listings.get(verdict.sku)) this.enqueue({ sku: state.sku, ...state.desired });
    }
    this.refreshGauges();
  }

  private refreshGauges(): void {
    this.metrics.pending.set({ channel: this.channel }, this.queue.size + this.delayed.size + this.inFlight);
    const oldest = this.queue.oldestReceivedAt();
    this.metrics.oldestPendingSeconds.set({ channel: this.channel }, oldest === null ? 0 : Math.max(0, (this.now() - oldest) / 1000));
  }
}
