import type { ReleaseReason } from '@ledger/domain';
import type { CommandContext } from '../command-context';

export class ReleaseReservationCommand {
  constructor(
    readonly sku: string,
    readonly input: { reservationId: string; reason?: ReleaseReason },
    readonly context: CommandContext,
  ) {}
}
