import { setTimeout as delay } from 'node:timers/promises';

export interface TokenBucketOptions {
  /** Tokens added per second: the sustained request rate. */
  ratePerSecond: number;
  /** Most tokens held at once: the burst allowed after a quiet spell. Default: one second's worth. */
  capacity?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** A token-bucket rate limiter: `take()` waits until a request may go, so a marketplace's rate limit is kept. */
export class TokenBucket {
  private readonly rate: number;
  private readonly capacity: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private tokens: number;
  private updatedAt: number;
  /** Callers queue so tokens go out in arrival order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0)) throw new Error('ratePerSecond must be above 0');
    this.rate = options.ratePerSecond;
    this.capacity = Math.max(1, options.capacity ?? Math.ceil(options.ratePerSecond));
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    this.tokens = this.capacity;
    this.updatedAt = this.now();
  }

  take(): Promise<void> {
    const turn = this.queue.then(() => this.takeOne());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Tokens available now (fractional). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  private async takeOne(): Promise<void> {
    for (;;) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.sleep(Math.ceil(((1 - this.tokens) / this.rate) * 1000));
    }
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) / 1000) * this.rate);
    this.updatedAt = now;
  }
}
