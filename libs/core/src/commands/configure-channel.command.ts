import type { CommandContext } from '../command-context';

/** `locations` empty or null: the channel draws on every location. */
export class ConfigureChannelCommand {
  constructor(readonly channel: string, readonly locations: string[] | null, readonly context: CommandContext) {}
}
