import type { DomainError } from './errors';

/**
 * What every decider answers for one command: the events to append and the result, or a refusal.
 * A refusal may still carry events: a commit that finds its hold expired records the expiry and is
 * refused in the same append.
 */
export type Decision<Event, Result> =
  | { events: Event[]; result: Result; error?: undefined }
  | { events: Event[]; result?: undefined; error: DomainError };

/**
 * A decider over one stream, after emmett: the state a stream starts from, what a command decides
 * against a state, and how an event moves a state forward. `evolve` may move the given state in
 * place and return it; `decide` never changes the state it is given.
 */
export interface Decider<Command, Event, State, Result> {
  initialState(): State;
  decide(command: Command, state: State): Decision<Event, Result>;
  evolve(state: State, event: Event): State;
}
