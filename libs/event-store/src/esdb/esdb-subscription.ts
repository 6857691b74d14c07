import { START, streamNameFilter, type AllStreamResolvedEvent, type AllStreamSubscription, type EventStoreDBClient } from '@eventstore/db-client';
import type { AllSubscriptionHandler, RecordedEvent, Subscription } from '../event-store.port';
import { fromClientEvent, isUnavailable } from './esdb-mapping';

export interface EsdbSubscriptionDeps {
  client: EventStoreDBClient;
  streamPrefixes: string[];
  headPosition(): Promise<number | null>;
  reconnectDelayMs: { initial: number; max: number };
  maxBatchSize: number;
  onClosed(): void;
}

/** Put in the event stream where the server said "caught up", so it is handled after the events before it. */
const CAUGHT_UP = Object.freeze({ caughtUp: true });

/** Marks an error as the handler's, which ends the subscription, unlike a lost connection. */
class HandlerFailure {
  constructor(readonly error: unknown) {}
}

/**
 * A catch-up subscription to the ledger's events in $all (filtered on the server by stream prefix). It
 * delivers micro-batches, waiting for each to settle; after a dropped connection it resubscribes with
 * exponential backoff from the last delivered position, skipping anything at or before it, so every event
 * arrives once and in order. A handler error, or a store error that retrying cannot fix, ends it.
 */
export class EsdbAllSubscription implements Subscription {
  private stopped = false;
  private current: AllStreamSubscription | null = null;
  private wake: (() => void) | null = null;
  private readonly done: Promise<void>;

  constructor(
    private readonly deps: EsdbSubscriptionDeps,
    private after: number | null,
    private readonly handler: AllSubscriptionHandler,
  ) {
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.release(this.current);
    await this.done;
  }

  private async run(): Promise<void> {
    // Let the caller keep the returned Subscription before the first callback can use it.
    await Promise.resolve();
    let attempt = 0;
    let failed = false;
    let failure: unknown;
    while (!this.stopped) {
      try {
        await this.session(() => (attempt = 0));
      } catch (error) {
        if (this.stopped) break;
        if (error instanceof HandlerFailure || !isUnavailable(error)) {
          failed = true;
          failure = error instanceof HandlerFailure ? error.error : error;
          break;
        }
      }
      if (!this.stopped) await this.sleep(Math.min(this.deps.reconnectDelayMs.max, this.deps.reconnectDelayMs.initial * 2 ** attempt++));
    }
    this.deps.onClosed();
    if (failed) this.handler.onStopped?.(failure);
    else this.handler.onStopped?.();
  }

  /** One connection's worth of subscription; returns or throws when it ends. */
  private async session(onConfirmed: () => void): Promise<void> {
    // Servers before 23.10 never say "caught up": then reaching the head read here is what tells.
    const head = await this.deps.headPosition();
    if (this.stopped) return;
    const from = this.after === null ? START : { commit: BigInt(this.after), prepare: BigInt(this.after) };
    const subscription = this.deps.client.subscribeToAll(
      { fromPosition: from, filter: streamNameFilter({ prefixes: this.deps.streamPrefixes }) },
      { highWaterMark: this.deps.maxBatchSize },
    );
    this.current = subscription;
    subscription.once('confirmation', onConfirmed);
    subscription.on('caughtUp', () => subscription.push(CAUGHT_UP));
    // Errors reach us through the iterator; this keeps a late one, after we let go, from crashing the process.
    subscription.on('error', () => undefined);

    let caughtUp = false;
    const signalCaughtUp = () => {
      if (caughtUp) return;
      caughtUp = true;
      this.handler.onCaughtUp?.(this.after);
    };
    const reachedHead = () => head === null || (this.after !== null && this.after >= head);
    let batch: RecordedEvent[] = [];
    const deliver = async () => {
      if (batch.length === 0) return;
      const events = batch;
      batch = [];
      try {
        await this.handler.onEvents(events);
      } catch (error) {
        throw new HandlerFailure(error);
      }
      this.after = events[events.length - 1].position;
    };

    if (reachedHead()) signalCaughtUp();
    try {
      for await (const item of subscription as AsyncIterable<AllStreamResolvedEvent | typeof CAUGHT_UP>) {
        if (this.stopped) return;
        if (item === CAUGHT_UP) {
          await deliver();
          signalCaughtUp();
          continue;
        }
        const event = (item as AllStreamResolvedEvent).event;
        if (event) {
          const recorded = fromClientEvent(event);
          if (this.after === null || recorded.position > this.after) batch.push(recorded);
        }
        // A micro-batch is whatever has arrived, up to the limit.
        if (batch.length >= this.deps.maxBatchSize || subscription.readableLength === 0) {
          await deliver();
          if (reachedHead()) signalCaughtUp();
        }
      }
    } finally {
      this.release(subscription);
    }
  }

  private release(subscription: AllStreamSubscription | null): void {
    if (!subscription) return;
    if (this.current === subscription) this.current = null;
    void subscription.unsubscribe().catch(() => undefined);
    subscription.destroy();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
