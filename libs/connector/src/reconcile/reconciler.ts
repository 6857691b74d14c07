import { Logger, type LoggerService } from '@nestjs/common';
import type { ChannelAdapter } from '../channel-adapter';
import { ConnectorMetrics } from '../metrics';
import type { ChannelSync } from '../sync/channel-sync';

export interface ReconcilerOptions {
  sync: ChannelSync;
  adapter: ChannelAdapter;
  metrics?: ConnectorMetrics;
  logger?: LoggerService;
  /** A count the channel only accepted (Amazon processes later) is checked once this old. Default 0. */
  settleMs?: number;
  /**
   * How long the channel may show less than the connector set before it is raised back: a sale on the
   * channel lowers its count before the order reaches the ledger. Default 15 min.
   */
  belowGraceMs?: number;
  now?: () => number;
}

export interface ReconcileReport {
  checked: number;
  above: string[];
  below: string[];
  missing: string[];
  repaired: string[];
}

/**
 * Reads each listing's live quantity from the channel and compares it with what the connector last
 * set. A channel showing more (a manual edit, a lost call) is set back to the ledger's count at once; a
 * channel showing less is a sale there or an edit, safe for now: it is raised only if it persists past
 * the grace period. Every drift is logged and counted.
 */
export class Reconciler {
  private readonly metrics: ConnectorMetrics;
  private readonly logger: LoggerService;
  private readonly now: () => number;
  private running: Promise<ReconcileReport> | null = null;

  constructor(private readonly options: ReconcilerOptions) {
    this.metrics = options.metrics ?? options.sync.metrics;
    this.logger = options.logger ?? new Logger(`Reconciler:${options.sync.channel}`);
    this.now = options.now ?? Date.now;
  }

  /** One pass; concurrent callers share it. */
  run(): Promise<ReconcileReport> {
    if (!this.running) {
      this.running = this.pass()
        .then((report) => {
          this.metrics.reconciliations.inc({ channel: this.options.sync.channel, outcome: 'ok' });
          return report;
        })
        .catch((error: unknown) => {
          this.metrics.reconciliations.inc({ channel: this.options.sync.channel, outcome: 'failed' });
          throw error;
        })
        .finally(() => (this.running = null));
    }
    return this.running;
  }

  private async pass(): Promise<ReconcileReport> {
    const { sync, adapter } = this.options;
    const channel = sync.channel;
    const now = this.now();
    const settleMs = this.options.settleMs ?? 0;
    const candidates = sync.store.all().filter((state) => {
      if (state.shown === null || !state.applied || !sync.listings.get(state.sku)) return false;
      if (state.status === 'synced') return true;
      return state.status === 'accepted' && now - state.applied.at >= settleMs;
    });
    const report: ReconcileReport = { checked: candidates.length, above: [], below: [], missing: [], repaired: [] };
    if (candidates.length === 0) return report;
    const live = await adapter.readLive(candidates.map((state) => sync.listings.get(state.sku)!));
    for (const state of candidates) {
      // Moved on while we read: the next pass looks again.
      const current = sync.store.state(state.sku);
      if (!current || current.status === 'pending' || current.shown !== state.shown) continue;
      const shown = state.shown as number;
      const quantity = live.get(state.sku);
      if (quantity === undefined) continue;
      if (quantity === null) {
        report.missing.push(state.sku);
        this.logger.warn(`${channel} ${state.sku}: the channel has no such listing any more`);
        continue;
      }
      if (quantity === shown) {
        if (current.driftSince !== null) sync.store.setDriftSince(state.sku, null);
        continue;
      }
      if (quantity > shown) {
        report.above.push(state.sku);
        this.metrics.drift.inc({ channel, direction: 'above' });
        this.logger.warn(`${channel} ${state.sku}: the channel shows ${quantity}, the connector set ${shown}; setting the ledger's ${current.desired.available}`);
        sync.repair(state.sku, quantity, `drift: channel showed ${quantity}, set ${shown}`);
        report.repaired.push(state.sku);
        continue;
      }
      report.below.push(state.sku);
      if (current.driftSince === null) {
        this.metrics.drift.inc({ channel, direction: 'below' });
        this.logger.warn(`${channel} ${state.sku}: the channel shows ${quantity}, below the ${shown} set (a sale there, or an edit); raised if it lasts`);
        sync.store.setDriftSince(state.sku, now);
      } else if (now - current.driftSince >= (this.options.belowGraceMs ?? 900_000)) {
        this.logger.warn(`${channel} ${state.sku}: still ${quantity} below the ${shown} set; setting the ledger's ${current.desired.available}`);
        sync.repair(state.sku, quantity, `drift: channel showed ${quantity}, set ${shown}`);
        report.repaired.push(state.sku);
      }
    }
    return report;
  }
}
