import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per app instance, so tests that start several apps do not share counters. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly commands = new Counter({
    name: 'ledger_commands_total',
    help: 'Commands handled, by type and outcome',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly commandDuration = new Histogram({
    name: 'ledger_command_duration_seconds',
    help: 'Time from receiving a command to its answer, by type and outcome',
    labelNames: ['type', 'outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly appendConflicts = new Counter({
    name: 'ledger_append_conflicts_total',
    help: 'Appends refused because the stream moved on (each is reloaded and decided again)',
    registers: [this.registry],
  });

  readonly stockRefusals = new Counter({
    name: 'ledger_stock_refusals_total',
    help: 'Reservations and sales refused for insufficient stock, by channel',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });

  readonly appendDuration = new Histogram({
    name: 'ledger_append_duration_seconds',
    help: 'Time to append one batch of events to the store',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [this.registry],
  });

  readonly appendErrors = new Counter({
    name: 'ledger_append_errors_total',
    help: 'Appends that failed for a reason other than a revision conflict',
    registers: [this.registry],
  });

  readonly appendBatchSize = new Histogram({
    name: 'ledger_append_batch_commands',
    help: 'Commands decided together and committed in one append',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    registers: [this.registry],
  });

  readonly expiredHolds = new Counter({
    name: 'ledger_reservations_expired_total',
    help: 'Holds released because their time was up',
    registers: [this.registry],
  });

  /**
   * Every HTTP request answered, by method, route template (`/v1/skus/:sku/receipts`; `unmatched`
   * for paths no route serves, so raw paths never become labels) and status.
   */
  readonly httpRequests = new Counter({
    name: 'ledger_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly availabilityPropagation = new Histogram({
    name: 'ledger_availability_propagation_seconds',
    help: "From a command's decision to its changed channel counts committed in the availability projection",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [this.registry],
  });

  readonly intakeCommands = new Counter({
    name: 'ledger_intake_commands_total',
    help: 'Commands taken from the bus, by type and outcome',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly intakeDeadLetters = new Counter({
    name: 'ledger_intake_dead_letters_total',
    help: 'Commands sent to the dead-letter topic, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  gauge(name: string, help: string, labelNames: string[] = []): Gauge<string> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Gauge<string>;
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  counter(name: string, help: string, labelNames: string[] = []): Counter<string> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Counter<string>;
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  histogram(name: string, help: string, labelNames: string[] = [], buckets?: number[]): Histogram<string> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Histogram<string>;
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }
}
