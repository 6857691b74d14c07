import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { LEDGER_CONFIG, type LedgerConfig } from '@ledger/platform';
import { ChannelDirectory } from '../channel-directory';
import type { CommandOutcome } from '../command-context';
import { ReserveStockCommand } from '../commands/reserve-stock.command';
import { SkuCommandRunner } from '../sku-command-runner';

@CommandHandler(ReserveStockCommand)
export class ReserveStockHandler implements ICommandHandler<ReserveStockCommand, CommandOutcome> {
  constructor(
    private readonly runner: SkuCommandRunner,
    private readonly channels: ChannelDirectory,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  execute({ sku, input, context }: ReserveStockCommand): Promise<CommandOutcome> {
    return this.runner.run(sku, context, async (now) => ({
      type: 'ReserveStock',
      now,
      ...input,
      ttlSeconds: input.ttlSeconds ?? this.config.reservationTtlSeconds,
      channelLocations: await this.channels.locationsFor(input.channel),
    }));
  }
}
