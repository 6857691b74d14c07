import type { CommandContext } from '../command-context';

export class CommitReservationCommand {
  constructor(readonly sku: string, readonly input: { reservationId: string }, readonly context: CommandContext) {}
}
