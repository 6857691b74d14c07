import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { CommandOutcome } from '../command-context';
import { ReleaseReservationCommand } from '../commands/release-reservation.command';
import { SkuCommandRunner } from '../sku-command-runner';

@CommandHandler(ReleaseReservationCommand)
export class ReleaseReservationHandler implements ICommandHandler<ReleaseReservationCommand, CommandOutcome> {
  constructor(private readonly runner: SkuCommandRunner) {}

  execute({ sku, input, context }: ReleaseReservationCommand): Promise<CommandOutcome> {
    return this.runner.run(sku, context, (now) => ({
      type: 'ReleaseReservation',
      now,
      reservationId: input.reservationId,
      reason: input.reason ?? 'cancelled',
    }));
  }
}
