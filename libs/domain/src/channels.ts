import { EventTypes, type ChannelEvent } from './events';
import { DomainError } from './errors';

/** Which locations serve each channel, in order; null means every location. */
export type ChannelsState = Map<string, string[] | null>;

export interface ConfigureChannel {
  type: 'ConfigureChannel';
  channel: string;
  locations: string[] | null;
}

export function initialChannelsState(): ChannelsState {
  return new Map();
}

export function evolveChannels(state: ChannelsState, event: ChannelEvent): ChannelsState {
  state.set(event.data.channel, event.data.locations);
  return state;
}

/** Setting what is already set appends nothing, so a PUT can be retried freely. */
export function decideChannel(command: ConfigureChannel, state: ChannelsState): ChannelEvent[] {
  const locations = command.locations && command.locations.length > 0 ? command.locations : null;
  if (locations && new Set(locations).size !== locations.length) {
    throw new DomainError('INVALID_COMMAND', 'a location may appear only once in a channel', { field: 'locations' });
  }
  const current = state.get(command.channel);
  if (current !== undefined && sameLocations(current, locations)) return [];
  return [{ type: EventTypes.ChannelConfigured, data: { channel: command.channel, locations } }];
}

function sameLocations(a: string[] | null, b: string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((location, index) => location === b[index]);
}
