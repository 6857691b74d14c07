import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { CommandOutcome } from '../command-context';
import { InspectReturnCommand } from '../commands/inspect-return.command';
import { SkuCommandRunner } from '../sku-command-runner';

@CommandHandler(InspectReturnCommand)
export class InspectReturnHandler implements ICommandHandler<InspectReturnCommand, CommandOutcome> {
  constructor(private readonly runner: SkuCommandRunner) {}

  execute({ sku, input, context }: InspectReturnCommand): Promise<CommandOutcome> {
    return this.runner.run(sku, context, (now) => ({ type: 'InspectReturn', now, ...input }));
  }
}
