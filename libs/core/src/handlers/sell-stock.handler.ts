import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { ChannelDirectory } from '../channel-directory';
import type { CommandOutcome } from '../command-context';
import { SellStockCommand } from '../commands/sell-stock.command';
import { SkuCommandRunner } from '../sku-command-runner';

@CommandHandler(SellStockCommand)
export class SellStockHandler implements ICommandHandler<SellStockCommand, CommandOutcome> {
  constructor(
    private readonly runner: SkuCommandRunner,
    private readonly channels: ChannelDirectory,
  ) {}

  execute({ sku, input, context }: SellStockCommand): Promise<CommandOutcome> {
    return this.runner.run(sku, context, async (now) => ({
      type: 'SellStock',
      now,
      ...input,
      channelLocations: await this.channels.locationsFor(input.channel),
    }));
  }
}
