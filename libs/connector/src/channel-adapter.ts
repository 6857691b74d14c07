import { Logger, type LoggerService } from '@nestjs/common';
import type { Listing } from './listings';
import type { AvailabilityVersion } from './revision-rule';

export { AdapterRejectedError, TransientChannelError } from './http/retry';

/** One count to put on the channel. */
export interface PushItem {
  listing: Listing;
  /** What the ledger allows on this channel now: never push more. */
  quantity: number;
  /**
   * What the connector believes the channel shows now (the last count it set, lowered by the channel's
   * own sales it has seen), null when unknown. Shopify sends it as changeFromQuantity.
   */
  expected: number | null;
  /** The ledger version the count comes from; adapters name it in the channel's audit trail. */
  version: AvailabilityVersion;
}

/** What became of one SKU of a push. */
export type PushOutcome =
  /** The channel shows `quantity` now. */
  | { sku: string; status: 'applied'; quantity: number }
  /** The channel took `quantity` for processing and applies it later (Amazon); `settle()` reports failures. */
  | { sku: string; status: 'accepted'; quantity: number; submissionId?: string }
  /**
   * The channel had changed the count itself (a sale there): it shows `quantity`, the lower of the
   * ledger's count and what it had (Shopify after a stale changeFromQuantity).
   */
  | { sku: string; status: 'capped'; quantity: number; live: number }
  /** Refused for good (unknown listing, invalid value): retried only once the ledger sends a newer count. */
  | { sku: string; status: 'rejected'; reason: string }
  /** Failed for now (a per-SKU error the channel says may pass); pushed again after a pause. */
  | { sku: string; status: 'retry'; reason: string; retryAfterMs?: number };

/** A later verdict on counts that were `accepted` (Amazon feeds). */
export interface SettledOutcome {
  sku: string;
  status: 'applied' | 'rejected' | 'retry';
  quantity: number;
  reason?: string;
  /** Seconds from the submission to the channel's verdict. */
  processingSeconds?: number;
}

export interface PushOptions {
  /** One bulk submission (Amazon JSON_LISTINGS_FEED) instead of per-SKU calls. */
  bulk: boolean;
}

/** How many SKUs one push may carry, and when a bulk path exists. */
export interface BatchPlan {
  /** SKUs per push on the regular path (Flipkart 10, Shopify many, Amazon one PATCH each). */
  maxBatchSize: number;
  /** A bulk path (Amazon feeds): used at or above `threshold` pending SKUs while `available()`. */
  bulk?: { threshold: number; maxBatchSize: number; available(): boolean };
}

/**
 * The marketplace side of a connector: pushes counts in batches and reads live quantities back. A
 * push rejects (TransientChannelError or any error) when the whole call failed, so the connector
 * keeps every SKU of it pending; per-SKU verdicts come back as outcomes, one per item.
 */
export interface ChannelAdapter {
  readonly kind: string;
  readonly plan: BatchPlan;
  push(items: PushItem[], options?: PushOptions): Promise<PushOutcome[]>;
  /** Live quantity per SKU (null: the channel has no such listing); batched as the API allows. */
  readLive(listings: Listing[]): Promise<Map<string, number | null>>;
  /** Verdicts on earlier `accepted` outcomes, when the channel has given them. */
  settle?(): Promise<SettledOutcome[]>;
  /** Submissions still awaiting a verdict. */
  unsettled?(): number;
  close?(): Promise<void>;
}

/** Logs each count: for trying a connector out and for the Kafka reference setup. */
export class LoggingChannelAdapter implements ChannelAdapter {
  readonly kind = 'log';
  readonly plan: BatchPlan = { maxBatchSize: 500 };
  readonly updates: { sku: string; quantity: number }[] = [];
  private readonly shown = new Map<string, number>();

  constructor(
    private readonly channel: string,
    private readonly logger: LoggerService = new Logger(`Channel:${channel}`),
    /** Keep the last this many updates in `updates` (tests read them). */
    private readonly keep = 10_000,
  ) {}

  async push(items: PushItem[]): Promise<PushOutcome[]> {
    return items.map(({ listing, quantity }) => {
      this.logger.log(`${this.channel}: ${listing.sku} available ${quantity}`);
      this.updates.push({ sku: listing.sku, quantity });
      this.shown.set(listing.sku, quantity);
      if (this.updates.length > this.keep) this.updates.splice(0, this.updates.length - this.keep);
      return { sku: listing.sku, status: 'applied', quantity };
    });
  }

  async readLive(listings: Listing[]): Promise<Map<string, number | null>> {
    return new Map(listings.map((listing) => [listing.sku, this.shown.get(listing.sku) ?? null]));
  }
}
