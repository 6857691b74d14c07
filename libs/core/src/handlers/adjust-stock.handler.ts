import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { CommandOutcome } from '../command-context';
import { AdjustStockCommand } from '../commands/adjust-stock.command';
import { SkuCommandRunner } from '../sku-command-runner';

@CommandHandler(AdjustStockCommand)
export class AdjustStockHandler implements ICommandHandler<AdjustStockCommand, CommandOutcome> {
  constructor(private readonly runner: SkuCommandRunner) {}

  execute({ sku, input, context }: AdjustStockCommand): Promise<CommandOutcome> {
    return this.runner.run(sku, context, (now) => ({ type: 'AdjustStock', now, ...input }));
  }
}
