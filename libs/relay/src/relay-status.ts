/** stopped: not started or stopped; catching_up: sending a backlog; live: nothing left to send; stalled: a send failed, waiting to retry. */
export type RelayState = 'stopped' | 'catching_up' | 'live' | 'stalled';

export interface RelayStatus {
  name: string;
  state: RelayState;
  /** The last position the bus acknowledged and the relay stored; null before the first. */
  checkpoint: number | null;
  /** The newest position there is to relay (the ledger's head, or the change log's last position). */
  head: number | null;
  /** Positions between the checkpoint and the head (for the SQLite store: events). */
  lagPositions: number;
  /** Age of the oldest event or change not yet acknowledged; 0 when caught up. */
  lagMs: number;
  /** Failures in a row since the last successful send. */
  failures: number;
  lastError: string | null;
  lastPublishedAt: string | null;
}

/** What a relay reports to metrics as it goes; lag gauges read `status()` when scraped. */
export interface RelayMetricsSink {
  published(relay: string, messages: number): void;
  publishFailed(relay: string): void;
}

export const NO_METRICS: RelayMetricsSink = { published: () => undefined, publishFailed: () => undefined };

export interface RelayRetryOptions {
  /** Wait before the first restart after a failure; it doubles with each further failure in a row. */
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RELAY_RETRY: RelayRetryOptions = { initialDelayMs: 200, maxDelayMs: 30_000 };

export function backoffMs(retry: RelayRetryOptions, failures: number): number {
  return Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** Math.max(0, failures - 1));
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
