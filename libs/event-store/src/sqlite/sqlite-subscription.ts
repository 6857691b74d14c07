import type { AllSubscriptionHandler, RecordedEvent, SubscribeOptions, Subscription } from '../event-store.port';

/** What a subscription needs from the store: pages after a position, and word of appends. */
export interface SubscriptionSource {
  readForSubscription(after: number | null, maxCount: number): RecordedEvent[];
  /** Resolves on the next append in this process, or after the poll interval for other writers. */
  waitForAppend(): Promise<void>;
  wakeSubscribers(): void;
}

/** Wakes waiting subscriptions on an append here, or after `pollIntervalMs` to see other processes' appends. */
export class AppendSignal {
  private readonly waiters = new Set<() => void>();

  constructor(readonly pollIntervalMs: number) {}

  wait(): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, this.pollIntervalMs);
      this.waiters.add(wake);
    });
  }

  wake(): void {
    for (const wake of [...this.waiters]) wake();
  }
}

export class SqliteSubscription implements Subscription {
  private stopped = false;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly source: SubscriptionSource,
    private readonly options: SubscribeOptions,
    private readonly handler: AllSubscriptionHandler,
    private readonly onClose: () => void,
  ) {}

  start(): void {
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.source.wakeSubscribers();
    await this.done;
  }

  private async run(): Promise<void> {
    let after = this.options.after;
    let live = false;
    try {
      // Let the caller finish wiring up before the first batch arrives.
      await Promise.resolve();
      const maxBatchSize = this.options.maxBatchSize ?? 1000;
      while (!this.stopped) {
        const events = this.source.readForSubscription(after, maxBatchSize);
        if (events.length > 0) {
          await this.handler.onEvents(events);
          after = events[events.length - 1].position;
          live = false;
          // A full page means a backlog (a catch-up or a rebuild). A synchronous handler resolves
          // in a microtask, so without this the whole backlog would run before any timer or I/O:
          // the HTTP API and the write side would stall until it is done. Live batches go on at once.
          if (events.length >= maxBatchSize) await new Promise<void>((resolve) => setImmediate(resolve));
          continue;
        }
        if (!live) {
          live = true;
          this.handler.onCaughtUp?.(after);
        }
        await this.source.waitForAppend();
      }
      this.onClose();
      this.handler.onStopped?.();
    } catch (error) {
      this.onClose();
      this.handler.onStopped?.(error);
    }
  }
}
