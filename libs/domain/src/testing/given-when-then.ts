import type { SkuCommand } from '../commands';
import { decide, type SkuDecision } from '../decide';
import type { DomainErrorCode } from '../errors';
import type { InventoryEvent } from '../events';
import { evolveAll } from '../evolve';
import type { CommandResult } from '../results';
import { cloneState, initialState, type SkuState } from '../state';

/**
 * given/when/then for the SKU decider, after emmett's DeciderSpecification:
 *
 *   given([received('r1', 'A', 5)]).when(reserve('h1', 3)).then([reserved('h1', 3, [{ location: 'A', quantity: 3 }])]);
 *   given([]).when(commit('nope')).thenThrows('RESERVATION_NOT_FOUND');
 *
 * History is folded with the real `evolve`, the command goes through the real `decide`, and every
 * `then*` returns the spec so checks chain. Refusals are returned errors, not exceptions, so
 * `thenThrows` reads `decision.error`; it also insists the refusal appends nothing unless told which
 * events it must carry (the one case: committing an expired hold).
 */
export interface DeciderThen {
  /** The decision, for checks the helpers do not cover. */
  readonly decision: SkuDecision;
  /** Accepted, appending exactly these events in this order. */
  then(expected: InventoryEvent[]): DeciderThen;
  /** Accepted (with or without events), answering exactly this result. */
  thenResult(expected: CommandResult): DeciderThen;
  /** Accepted, appending nothing: a repeat or a no-op. */
  thenNothingHappens(): DeciderThen;
  /** Refused with this code, appending `events` (none unless given). */
  thenThrows(code: DomainErrorCode, events?: InventoryEvent[]): DeciderThen;
  /** The state once the decided events are folded onto the given history. */
  thenState(check: (state: SkuState) => void): DeciderThen;
}

export interface DeciderGiven {
  /** The state the history folds to (a copy: `when` still decides on the original). */
  readonly state: SkuState;
  when(command: SkuCommand): DeciderThen;
}

export function given(history: InventoryEvent[] = []): DeciderGiven {
  const state = evolveAll(initialState(), history);
  return {
    get state() {
      return cloneState(state);
    },
    when(command) {
      const before = cloneState(state);
      const decision = decide(command, state);
      // decide must be pure: evolve moves state in place, so a decide that did too would corrupt callers.
      expect(state).toEqual(before);
      return thenFor(decision, before);
    },
  };
}

function thenFor(decision: SkuDecision, before: SkuState): DeciderThen {
  const spec: DeciderThen = {
    decision,
    then(expected) {
      expect(decision.error).toBeUndefined();
      expect(decision.events).toEqual(expected);
      return spec;
    },
    thenResult(expected) {
      expect(decision.error).toBeUndefined();
      expect(decision.result).toEqual(expected);
      return spec;
    },
    thenNothingHappens() {
      expect(decision.error).toBeUndefined();
      expect(decision.events).toEqual([]);
      return spec;
    },
    thenThrows(code, events = []) {
      expect(decision.error?.code).toBe(code);
      expect(decision.result).toBeUndefined();
      expect(decision.events).toEqual(events);
      return spec;
    },
    thenState(check) {
      check(evolveAll(cloneState(before), decision.events));
      return spec;
    },
  };
  return spec;
}
