import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { CommandOutcome } from '../command-context';
import { ExpireReservationsCommand } from '../commands/expire-reservations.command';
import { SkuCommandRunner } from '../sku-command-runner';

@CommandHandler(ExpireReservationsCommand)
export class ExpireReservationsHandler implements ICommandHandler<ExpireReservationsCommand, CommandOutcome> {
  constructor(private readonly runner: SkuCommandRunner) {}

  execute({ sku, context }: ExpireReservationsCommand): Promise<CommandOutcome> {
    return this.runner.run(sku, context, (now) => ({ type: 'ExpireReservations', now }));
  }
}
