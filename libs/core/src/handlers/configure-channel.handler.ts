import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { CLOCK, type Clock } from '@ledger/platform';
import { ChannelDirectory, type ChannelView } from '../channel-directory';
import { ConfigureChannelCommand } from '../commands/configure-channel.command';

@CommandHandler(ConfigureChannelCommand)
export class ConfigureChannelHandler implements ICommandHandler<ConfigureChannelCommand> {
  constructor(
    private readonly channels: ChannelDirectory,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute({ channel, locations, context }: ConfigureChannelCommand): Promise<{ view: ChannelView; position: number | null; changed: boolean }> {
    return this.channels.configure(channel, locations, context, this.clock.now());
  }
}
