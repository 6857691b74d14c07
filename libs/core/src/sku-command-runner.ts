import { Inject, Injectable } from '@nestjs/common';
import { DomainError, type SkuCommand } from '@ledger/domain';
import { CLOCK, MetricsService, type Clock } from '@ledger/platform';
import type { CommandContext, CommandOutcome } from './command-context';
import { SkuLedger } from './sku-ledger';

/** What every SKU command handler does around the decision: the clock, the ledger call, the metrics. */
@Injectable()
export class SkuCommandRunner {
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
    const started = process.hrtime.bigint();
    let type = 'unknown';
    let outcome = 'accepted';
    try {
      const command = await build(this.clock.now());
      type = command.type;
      const result = await this.ledger.execute(sku, command, context);
      if (result.duplicate) outcome = 'duplicate';
      return result;
    } catch (error) {
      outcome = error instanceof DomainError ? error.code.toLowerCase() : 'failed';
      throw error;
    } finally {
      const labels = { type, outcome };
      this.metrics.commands.inc(labels);
      this.metrics.commandDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }
}
