import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { CommandOutcome } from '../command-context';
import { ReceiveReturnCommand } from '../commands/receive-return.command';
import { SkuCommandRunner } from '../sku-command-runner';

@CommandHandler(ReceiveReturnCommand)
export class ReceiveReturnHandler implements ICommandHandler<ReceiveReturnCommand, CommandOutcome> {
  constructor(private readonly runner: SkuCommandRunner) {}

  execute({ sku, input, context }: ReceiveReturnCommand): Promise<CommandOutcome> {
    return this.runner.run(sku, context, (now) => ({ type: 'ReceiveReturn', now, ...input }));
  }
}
