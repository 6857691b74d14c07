import type { CommandResult } from '@ledger/domain';

export type { CommandContext } from '@ledger/ledger-model';

export interface CommandOutcome<Result = CommandResult> {
  result: Result;
  /** The SKU stream revision after the command (or after its first run, for a repeat). */
  revision: number;
  /** A ledger position at or after the command's events; reads may wait for it (read-your-writes). */
  position: number | null;
  /** True when the command was a repeat and appended nothing. */
  duplicate: boolean;
}

/** The stream kept moving under us on every try; the caller may retry the same command safely. */
export class ConcurrencyRetriesExhaustedError extends Error {
  constructor(readonly streamId: string, attempts: number) {
    super(`stream ${streamId} changed under ${attempts} attempts in a row`);
    this.name = 'ConcurrencyRetriesExhaustedError';
  }
}
