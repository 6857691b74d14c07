import type { Decider, Decision } from './decider';
import { DomainError } from './errors';
import { EventTypes, type ChannelEvent } from './events';

/** Which locations serve each channel, in order; null means every location. */
export type ChannelsState = Map<string, string[] | null>;

export interface ConfigureChannel {
  type: 'ConfigureChannel';
  channel: string;
  locations: string[] | null;
  /** Epoch ms, as every command carries it: the domain never reads a clock. */
  now: number;
}

export type ChannelCommand = ConfigureChannel;

/** One channel's setting as it stands: its ordered locations, or null when it draws on every location. */
export interface ChannelSetting {
  channel: string;
  locations: string[] | null;
}

export type ChannelDecision = Decision<ChannelEvent, ChannelSetting>;

export function initialChannelsState(): ChannelsState {
  return new Map();
}

export function evolveChannels(state: ChannelsState, event: ChannelEvent): ChannelsState {
  switch (event.type) {
    case EventTypes.ChannelConfigured:
      state.set(event.data.channel, event.data.locations);
      return state;
    default: {
      const unknown: never = event.type;
      return unknown;
    }
  }
}

export function decideChannel(command: ChannelCommand, state: ChannelsState): ChannelDecision {
  switch (command.type) {
    case 'ConfigureChannel':
      return configureChannel(command, state);
    default: {
      const unknown: never = command.type;
      return { events: [], error: new DomainError('INVALID_COMMAND', `unknown command type ${String(unknown)}`, { field: 'type' }) };
    }
  }
}

/** Setting what is already set appends nothing, so a PUT can be retried freely. */
function configureChannel(command: ConfigureChannel, state: ChannelsState): ChannelDecision {
  const { channel } = command;
  const locations = command.locations && command.locations.length > 0 ? command.locations : null;
  if (locations && new Set(locations).size !== locations.length) {
    return { events: [], error: new DomainError('INVALID_COMMAND', 'a location may appear only once in a channel', { field: 'locations' }) };
  }
  const result = { channel, locations };
  const current = state.get(channel);
  if (current !== undefined && sameLocations(current, locations)) return { events: [], result };
  return { events: [{ type: EventTypes.ChannelConfigured, data: { channel, locations } }], result };
}

function sameLocations(a: string[] | null, b: string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((location, index) => location === b[index]);
}

/** The channel stream's decider: one stream (`inventory-channels`) for every channel's setting. */
export const channelsDecider: Decider<ChannelCommand, ChannelEvent, ChannelsState, ChannelSetting> = {
  initialState: initialChannelsState,
  decide: decideChannel,
  evolve: evolveChannels,
};
