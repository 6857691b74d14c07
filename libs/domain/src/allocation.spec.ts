import { allocate, availableWith } from './allocation';
import { evolveAll } from './evolve';
import { channelAvailable, channelLocations, cloneState, initialState } from './state';
import { alloc, ev } from './testing/fixtures';

// First seen: C, then A, then B. A has 4 of 5 free, B 3, C 0 (all held).
const state = evolveAll(initialState(), [
  ev.received('r0', 'C', 2),
  ev.received('r1', 'A', 5),
  ev.received('r2', 'B', 3),
  ev.reserved('h1', [alloc('A', 1), alloc('C', 2)]),
]);

describe('allocate', () => {
  it('takes from the first location when it has enough', () => {
    expect(allocate(state, ['A', 'B'], 4)).toEqual([alloc('A', 4)]);
  });

  it('splits in the given order when a location is short', () => {
    expect(allocate(state, ['B', 'A'], 5)).toEqual([alloc('B', 3), alloc('A', 2)]);
    expect(allocate(state, ['A', 'B'], 5)).toEqual([alloc('A', 4), alloc('B', 1)]);
  });

  it('uses every location in first-seen order for null, skipping ones with nothing free', () => {
    expect(channelLocations(state, null)).toEqual(['C', 'A', 'B']);
    expect(allocate(state, null, 6)).toEqual([alloc('A', 4), alloc('B', 2)]);
  });

  it('ignores unknown locations and a location listed twice', () => {
    expect(allocate(state, ['X', 'B', 'B', 'A'], 4)).toEqual([alloc('B', 3), alloc('A', 1)]);
    expect(allocate(state, ['B', 'B'], 4)).toBeNull();
  });

  it('answers null when the locations hold too little, and takes exactly all when they hold just enough', () => {
    expect(allocate(state, ['A', 'B'], 8)).toBeNull();
    expect(allocate(state, ['A', 'B'], 7)).toEqual([alloc('A', 4), alloc('B', 3)]);
    expect(allocate(state, [], 1)).toBeNull();
  });

  it('counts units that releases in the same append will free', () => {
    const freed = new Map([['C', 2]]);
    expect(allocate(state, ['C', 'A'], 3, freed)).toEqual([alloc('C', 2), alloc('A', 1)]);
    expect(availableWith(state, ['C', 'A'], freed)).toBe(6);
  });

  it('never changes the state', () => {
    const before = cloneState(state);
    allocate(state, null, 7, new Map([['A', 1]]));
    expect(state).toEqual(before);
  });
});

describe('available for a channel', () => {
  it('sums on hand - reserved over the channel locations, each once', () => {
    expect(channelAvailable(state, ['A'])).toBe(4);
    expect(channelAvailable(state, ['A', 'B', 'X'])).toBe(7);
    expect(channelAvailable(state, ['A', 'A'])).toBe(4);
    expect(channelAvailable(state, null)).toBe(7);
    expect(availableWith(state, ['A', 'A'])).toBe(4);
    expect(availableWith(state, null)).toBe(7);
  });
});
