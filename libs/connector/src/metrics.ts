import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per connector, labelled by the ledger channel it mirrors. */
export class ConnectorMetrics {
  readonly registry = new Registry();

  readonly calls = new Counter({
    name: 'connector_channel_calls_total',
    help: 'Calls to the channel API, by operation and outcome (ok, throttled, rejected, failed)',
    labelNames: ['channel', 'operation', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly throttles = new Counter({
    name: 'connector_channel_throttles_total',
    help: 'Calls the channel throttled (HTTP 429, Shopify THROTTLED)',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });

  readonly retries = new Counter({
    name: 'connector_channel_retries_total',
    help: 'Calls retried after a transient failure',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });

  readonly updates = new Counter({
    name: 'connector_updates_total',
    help: 'Availability updates received, by outcome: accepted (newer), stale (rule dropped it), unlisted (no listing), ignored (not for this channel)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly coalesced = new Counter({
    name: 'connector_coalesced_updates_total',
    help: 'Accepted updates that replaced a count still waiting to be pushed (no call spent on them)',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });

  readonly pushed = new Counter({
    name: 'connector_pushed_skus_total',
    help: 'SKU counts the channel took or refused, by outcome (applied, accepted, capped, rejected, retry)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly pushLatency = new Histogram({
    name: 'connector_push_latency_seconds',
    help: 'From an update reaching the connector to the channel taking it',
    labelNames: ['channel'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
    registers: [this.registry],
  });

  readonly visibleLag = new Histogram({
    name: 'connector_channel_visible_lag_seconds',
    help: 'From an update reaching the connector to the channel confirming it applied (Amazon: feed DONE); what exposure must assume',
    labelNames: ['channel'] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
    registers: [this.registry],
  });

  readonly pending = new Gauge({
    name: 'connector_pending_skus',
    help: 'SKUs whose newest count is not yet on the channel',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });

  readonly oldestPendingSeconds = new Gauge({
    name: 'connector_oldest_pending_age_seconds',
    help: 'Age of the oldest count not yet on the channel; 0 when caught up',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });

  readonly drift = new Counter({
    name: 'connector_drift_total',
    help: 'Listings whose live channel quantity differed from what the connector last set, by direction (above, below)',
    labelNames: ['channel', 'direction'] as const,
    registers: [this.registry],
  });

  readonly reconciliations = new Counter({
    name: 'connector_reconciliations_total',
    help: 'Reconciliation passes, by outcome',
    labelNames: ['channel', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly orders = new Counter({
    name: 'connector_orders_total',
    help: 'Order actions passed to the ledger, by action (hold, commit, cancel) and outcome',
    labelNames: ['channel', 'action', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly refusedOrders = new Counter({
    name: 'connector_refused_orders_total',
    help: 'Channel orders the ledger refused (INSUFFICIENT_STOCK): each a cancellation the seller must handle',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });

  readonly webhooks = new Counter({
    name: 'connector_webhooks_total',
    help: 'Webhooks and notifications received, by outcome (handled, duplicate, bad_signature, invalid, failed)',
    labelNames: ['channel', 'source', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor(readonly channel: string, defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry });
  }
}
