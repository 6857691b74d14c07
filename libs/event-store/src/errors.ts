import type { ExpectedRevision } from './event-store.port';

/** The stream moved on since the caller read it: reload, decide again, retry. */
export class WrongExpectedRevisionError extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** The stream's revision at the time, -1 when it does not exist, null when the store did not say. */
    readonly actual: number | null,
  ) {
    super(`stream ${streamId}: expected revision ${String(expected)}, actual ${actual ?? 'unknown'}`);
    this.name = 'WrongExpectedRevisionError';
  }
}

/** The store cannot be reached; the caller should fail fast (503) and try later. */
export class EventStoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventStoreUnavailableError';
  }
}
