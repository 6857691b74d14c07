import { Logger, type LoggerService } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import { AdapterRejectedError, type ChannelAdapter } from './channel-adapter';
import { TokenBucket } from './token-bucket';

export interface HttpMarketplaceAdapterOptions {
  /** The marketplace API's base URL, e.g. https://api.marketplace.example. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token: string;
  /** The marketplace's rate limit: sustained requests per second (default 5) and burst (default 10). */
  requestsPerSecond?: number;
  burst?: number;
  /** Attempts per update before giving up (the bus then delivers the message again). Default 5. */
  maxAttempts?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Where a SKU's quantity is set; default `PUT /inventory/<sku>` with body `{"sku", "quantity"}`. */
  request?: (sku: string, quantity: number) => { method: string; path: string; body: unknown };
  fetch?: typeof fetch;
  logger?: LoggerService;
}

/**
 * SKELETON of an adapter for a marketplace's HTTP API: the request itself is a placeholder to replace
 * with the marketplace's real endpoint, payload and auth. What it does show is the behaviour a real
 * adapter needs:
 * - a token-bucket rate limiter, so bursts of availability changes stay within the API's limit;
 * - retries with exponential backoff and jitter on 429, 5xx and network errors, honouring Retry-After;
 * - other 4xx answers are permanent (AdapterRejectedError): the consumer logs them and moves on
 *   rather than stall the channel on one listing the marketplace refuses.
 * Updates are absolute quantities, never increments, so a retried or repeated request is harmless.
 */
export class HttpMarketplaceAdapter implements ChannelAdapter {
  private readonly bucket: TokenBucket;
  private readonly fetch: typeof fetch;
  private readonly logger: LoggerService;
  private readonly maxAttempts: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly options: HttpMarketplaceAdapterOptions) {
    this.bucket = new TokenBucket({ ratePerSecond: options.requestsPerSecond ?? 5, capacity: options.burst ?? 10 });
    this.fetch = options.fetch ?? globalThis.fetch;
    this.logger = options.logger ?? new Logger(HttpMarketplaceAdapter.name);
    this.maxAttempts = options.maxAttempts ?? 5;
    this.initialBackoffMs = options.initialBackoffMs ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
  }

  async setAvailable(sku: string, quantity: number): Promise<void> {
    const { method, path, body } = (this.options.request ?? defaultRequest)(sku, quantity);
    const url = new URL(path, this.options.baseUrl.endsWith('/') ? this.options.baseUrl : `${this.options.baseUrl}/`);
    let lastProblem = '';
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      await this.bucket.take();
      let retryAfterMs: number | null = null;
      let response: Response | null = null;
      try {
        response = await this.fetch(url, {
          method,
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.options.token}` },
          body: JSON.stringify(body),
        });
      } catch (error) {
        lastProblem = `${method} ${url.pathname} failed: ${(error as Error).message}`;
      }
      if (response) {
        if (response.ok) return;
        lastProblem = `${method} ${url.pathname} answered ${response.status}`;
        if (response.status !== 429 && response.status < 500) throw new AdapterRejectedError(lastProblem, response.status);
        retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      }
      if (attempt === this.maxAttempts) break;
      const backoff = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** (attempt - 1));
      const wait = retryAfterMs ?? Math.round(backoff / 2 + Math.random() * (backoff / 2));
      this.logger.warn(`${lastProblem} (attempt ${attempt}); retrying in ${wait} ms`);
      await delay(wait);
    }
    throw new Error(`${lastProblem}; gave up after ${this.maxAttempts} attempts`);
  }
}

function defaultRequest(sku: string, quantity: number) {
  return { method: 'PUT', path: `inventory/${encodeURIComponent(sku)}`, body: { sku, quantity } };
}

/** Retry-After in seconds or as an HTTP date; null when absent or unreadable. */
function parseRetryAfter(value: string | null): number | null {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 60_000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.min(Math.max(0, at - Date.now()), 60_000);
}
