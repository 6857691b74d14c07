import { Logger, type LoggerService } from '@nestjs/common';

/** The marketplace (or shop) side of a connector: makes the listed quantity of a SKU what the ledger says. */
export interface ChannelAdapter {
  /** Resolves once the channel took the quantity; rejects to have it retried (see AdapterRejectedError). */
  setAvailable(sku: string, quantity: number): Promise<void>;
}

/**
 * The channel refused the update for good (an unknown listing, a validation error): retrying would
 * not help, so the consumer logs it and moves on instead of stalling the channel's partition.
 */
export class AdapterRejectedError extends Error {
  readonly retryable = false;
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'AdapterRejectedError';
  }
}

/** Logs each update: for trying a connector out, or as the pattern for a real adapter. */
export class LoggingChannelAdapter implements ChannelAdapter {
  readonly updates: { sku: string; quantity: number }[] = [];

  constructor(
    private readonly channel: string,
    private readonly logger: LoggerService = new Logger(`Channel:${channel}`),
    /** Keep the last this many updates in `updates` (tests read them). */
    private readonly keep = 1_000,
  ) {}

  async setAvailable(sku: string, quantity: number): Promise<void> {
    this.logger.log(`${this.channel}: ${sku} available ${quantity}`);
    this.updates.push({ sku, quantity });
    if (this.updates.length > this.keep) this.updates.splice(0, this.updates.length - this.keep);
  }
}
