import { decideChannel, evolveChannels, initialChannelsState, type ChannelsState, type ConfigureChannel } from './channels';
import { DomainError } from './errors';
import { EventTypes } from './events';

const configure = (channel: string, locations: string[] | null): ConfigureChannel => ({ type: 'ConfigureChannel', channel, locations, now: 0 });
const configured = (channel: string, locations: string[] | null) => ({ type: EventTypes.ChannelConfigured, data: { channel, locations } });

/** Decides and folds in one go, as the channel stream's handler does. */
function apply(state: ChannelsState, command: ConfigureChannel) {
  const { events, error } = decideChannel(command, state);
  expect(error).toBeUndefined();
  for (const event of events) evolveChannels(state, event);
  return events;
}

describe('channels', () => {
  it('starts with no channels', () => {
    expect(initialChannelsState().size).toBe(0);
  });

  it('records a new channel with its ordered locations', () => {
    const state = initialChannelsState();
    expect(apply(state, configure('web', ['B', 'A']))).toEqual([configured('web', ['B', 'A'])]);
    expect(state.get('web')).toEqual(['B', 'A']);
  });

  it('treats no list and an empty list alike: every location', () => {
    const state = initialChannelsState();
    expect(apply(state, configure('web', null))).toEqual([configured('web', null)]);
    expect(apply(state, configure('pos', []))).toEqual([configured('pos', null)]);
    expect(apply(state, configure('pos', null))).toEqual([]);
    expect(state.get('pos')).toBeNull();
  });

  it('appends nothing when the configuration is already set, so a PUT can be retried', () => {
    const state = initialChannelsState();
    apply(state, configure('web', ['A', 'B']));
    expect(apply(state, configure('web', ['A', 'B']))).toEqual([]);
  });

  it('records a change of order, of list or between a list and every location', () => {
    const state = initialChannelsState();
    apply(state, configure('web', ['A', 'B']));
    expect(apply(state, configure('web', ['B', 'A']))).toEqual([configured('web', ['B', 'A'])]);
    expect(apply(state, configure('web', ['B']))).toEqual([configured('web', ['B'])]);
    expect(apply(state, configure('web', null))).toEqual([configured('web', null)]);
    expect(apply(state, configure('web', ['B']))).toEqual([configured('web', ['B'])]);
    expect(state.get('web')).toEqual(['B']);
  });

  it('keeps channels apart', () => {
    const state = initialChannelsState();
    apply(state, configure('web', ['A']));
    expect(apply(state, configure('pos', ['A']))).toEqual([configured('pos', ['A'])]);
    expect([...state.keys()]).toEqual(['web', 'pos']);
  });

  it('refuses a location listed twice', () => {
    const decision = decideChannel(configure('web', ['A', 'B', 'A']), initialChannelsState());
    expect(decision.error).toBeInstanceOf(DomainError);
    expect(decision.error).toEqual(expect.objectContaining({ code: 'INVALID_COMMAND', details: { field: 'locations' } }));
    expect(decision.events).toEqual([]);
    expect(decision.result).toBeUndefined();
  });
});
