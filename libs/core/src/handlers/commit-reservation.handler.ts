import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { CommandOutcome } from '../command-context';
import { CommitReservationCommand } from '../commands/commit-reservation.command';
import { SkuCommandRunner } from '../sku-command-runner';

@CommandHandler(CommitReservationCommand)
export class CommitReservationHandler implements ICommandHandler<CommitReservationCommand, CommandOutcome> {
  constructor(private readonly runner: SkuCommandRunner) {}

  execute({ sku, input, context }: CommitReservationCommand): Promise<CommandOutcome> {
    return this.runner.run(sku, context, (now) => ({ type: 'CommitReservation', now, reservationId: input.reservationId }));
  }
}
