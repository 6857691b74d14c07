import type { CommandContext } from '../command-context';

/** Sent by the sweeper for a SKU that has holds past their time. */
export class ExpireReservationsCommand {
  constructor(readonly sku: string, readonly context: CommandContext) {}
}
