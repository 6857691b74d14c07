import type { MetricsService } from '@ledger/platform';
import type { RelayMetricsSink, RelayStatus } from './relay-status';

/**
 * The relays' Prometheus metrics:
 * - `ledger_relay_messages_published_total{relay}`: messages the bus acknowledged;
 * - `ledger_relay_publish_errors_total{relay}`: sends that failed (each stalls the relay until a retry works);
 * - `ledger_relay_lag_positions{relay}`: positions between the relay's checkpoint and the newest one to relay;
 * - `ledger_relay_lag_seconds{relay}`: age of the oldest event or change not yet acknowledged (0 when caught up).
 */
export class RelayMetrics implements RelayMetricsSink {
  private readonly publishedCounter;
  private readonly errorCounter;

  constructor(private readonly metrics: MetricsService) {
    this.publishedCounter = metrics.counter('ledger_relay_messages_published_total', 'Messages relayed to the bus and acknowledged, by relay', ['relay']);
    this.errorCounter = metrics.counter('ledger_relay_publish_errors_total', 'Relay sends that failed (the relay stalls and retries), by relay', ['relay']);
  }

  published(relay: string, messages: number): void {
    this.publishedCounter.inc({ relay }, messages);
  }

  publishFailed(relay: string): void {
    this.errorCounter.inc({ relay });
  }

  /** Lag gauges, computed from each relay's status when scraped (one sample serves both gauges). */
  watchLag(relays: { status(): Promise<RelayStatus> }[]): void {
    const lagPositions = this.metrics.gauge('ledger_relay_lag_positions', 'Ledger positions not yet relayed and acknowledged, by relay', ['relay']);
    const lagSeconds = this.metrics.gauge('ledger_relay_lag_seconds', 'Age of the oldest event or change not yet relayed, by relay', ['relay']);
    let sample: { at: number; statuses: Promise<RelayStatus[]> } | null = null;
    const statuses = () => {
      if (!sample || Date.now() - sample.at > 250) sample = { at: Date.now(), statuses: Promise.all(relays.map((relay) => relay.status())) };
      return sample.statuses;
    };
    Object.assign(lagPositions, {
      async collect() {
        for (const status of await statuses()) lagPositions.set({ relay: status.name }, status.lagPositions);
      },
    });
    Object.assign(lagSeconds, {
      async collect() {
        for (const status of await statuses()) lagSeconds.set({ relay: status.name }, status.lagMs / 1000);
      },
    });
  }
}
