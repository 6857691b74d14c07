import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { CommandOutcome } from '../command-context';
import { ReceiveStockCommand } from '../commands/receive-stock.command';
import { SkuCommandRunner } from '../sku-command-runner';

@CommandHandler(ReceiveStockCommand)
export class ReceiveStockHandler implements ICommandHandler<ReceiveStockCommand, CommandOutcome> {
  constructor(private readonly runner: SkuCommandRunner) {}

  execute({ sku, input, context }: ReceiveStockCommand): Promise<CommandOutcome> {
    return this.runner.run(sku, context, (now) => ({ type: 'ReceiveStock', now, ...input }));
  }
}
