import { setTimeout as delay } from 'node:timers/promises';

/** Retry-After in seconds or as an HTTP date, capped at a minute; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 60_000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.min(Math.max(0, at - now), 60_000);
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/** Exponential backoff with "equal jitter": half the step fixed, half random, so retries spread out. */
export function backoffDelay(attempt: number, { initialMs, maxMs }: BackoffOptions, random = Math.random): number {
  const step = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/** A call the channel answered with a status that retrying will not change (a validation error, a missing listing). */
export class AdapterRejectedError extends Error {
  readonly retryable = false;
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'AdapterRejectedError';
  }
}

/** A call that may work later: 429, 5xx, a network error, an expired token. `retryAfterMs` when the channel said. */
export class TransientChannelError extends Error {
  readonly retryable = true;
  constructor(message: string, readonly retryAfterMs: number | null = null, readonly throttled = false) {
    super(message);
    this.name = 'TransientChannelError';
  }
}

export interface HttpCallOptions {
  /** Attempts before giving up with the last TransientChannelError. Default 5. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** Called before each retry, for metrics and logs. */
  onRetry?: (problem: TransientChannelError, attempt: number, waitMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `attempt` until it resolves, retrying TransientChannelError with backoff (or the channel's
 * Retry-After); anything else is thrown at once.
 */
export async function withRetries<T>(attempt: (n: number) => Promise<T>, options: HttpCallOptions = {}): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 5;
  const backoff = options.backoff ?? { initialMs: 200, maxMs: 10_000 };
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (!(error instanceof TransientChannelError) || n >= maxAttempts) throw error;
      const wait = error.retryAfterMs ?? backoffDelay(n, backoff);
      options.onRetry?.(error, n, wait);
      await sleep(wait);
    }
  }
}

/** Reads a JSON body, tolerating an empty or non-JSON one (then null). */
export async function readJson(response: Response): Promise<any> {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Maps a failed HTTP answer to the error the callers handle: 429/5xx transient, other 4xx rejected. */
export function errorForStatus(what: string, response: Response, body: unknown): Error {
  const detail = body ? `: ${JSON.stringify(body).slice(0, 300)}` : '';
  const message = `${what} answered ${response.status}${detail}`;
  if (response.status === 429) return new TransientChannelError(message, parseRetryAfter(response.headers.get('retry-after')), true);
  if (response.status >= 500 || response.status === 408) return new TransientChannelError(message, parseRetryAfter(response.headers.get('retry-after')));
  return new AdapterRejectedError(message, response.status);
}

/** fetch that turns network failures into TransientChannelError. */
export async function fetchOrTransient(fetcher: typeof fetch, url: URL | string, init: RequestInit, what: string): Promise<Response> {
  try {
    return await fetcher(url, init);
  } catch (error) {
    throw new TransientChannelError(`${what} failed: ${(error as Error).message}`);
  }
}
