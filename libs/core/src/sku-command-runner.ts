import { Inject, Injectable } from '@nestjs/common';
import { DomainError, type SkuCommand } from '@ledger/domain';
import { CLOCK, MetricsService, type Clock } from '@ledger/platform';
import type { CommandContext, CommandOutcome } from './command-context';
import { SkuLedger } from './sku-ledger';

/** The per-(type, outcome) children of the command metrics, so a command does not hash its labels twice. */
interface CommandMetrics {
  count: { inc(): void };
  duration: { observe(seconds: number): void };
}

/** What every SKU command handler does around the decision: the clock, the ledger call, the metrics. */
@Injectable()
export class SkuCommandRunner {
  private readonly byLabels = new Map<string, CommandMetrics>();

  constructor(
    private readonly ledger: SkuLedger,
    private readonly metrics: MetricsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async run<Command extends SkuCommand>(
    sku: string,
    context: CommandContext,
    build: (now: number) => Command | Promise<Command>,
  ): Promise<CommandOutcome> {
    const started = performance.now();
    let type = 'unknown';
    let outcome = 'accepted';
    try {
      const built = build(this.clock.now());
      const command = built instanceof Promise ? await built : built;
      type = command.type;
      const result = await this.ledger.execute(sku, command, context);
      if (result.duplicate) outcome = 'duplicate';
      return result;
    } catch (error) {
      outcome = error instanceof DomainError ? error.code.toLowerCase() : 'failed';
      throw error;
    } finally {
      const metrics = this.metricsFor(type, outcome);
      metrics.count.inc();
      metrics.duration.observe((performance.now() - started) / 1000);
    }
  }

  private metricsFor(type: string, outcome: string): CommandMetrics {
    const key = `${type}\u0000${outcome}`;
    let metrics = this.byLabels.get(key);
    if (!metrics) {
      const labels = { type, outcome };
      metrics = { count: this.metrics.commands.labels(labels), duration: this.metrics.commandDuration.labels(labels) };
      this.byLabels.set(key, metrics);
    }
    return metrics;
  }
}
