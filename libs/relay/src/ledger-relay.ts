import type { EventStore, RecordedEvent, Subscription } from '@ledger/event-store';
import { CheckpointedRelay, type RelayDeps, type RelayLag, type RelayOptions } from './checkpointed-relay';
import { ledgerEventMessage } from './messages';

export interface LedgerRelayDeps extends RelayDeps {
  store: EventStore;
}

/** `name` defaults to `ledger`; `batchSize` is events per store batch, each sent as one produce request and then checkpointed. */
export type LedgerRelayOptions = RelayOptions;

/**
 * Relays every ledger event to `inventory.ledger.v1` from a checkpointed subscription to the store's
 * global order. Per batch: send all, wait for the bus's acknowledgement, then store the checkpoint.
 * A failed send (or checkpoint write) stops the subscription; it restarts from the stored checkpoint
 * after a growing pause, for as long as it takes: nothing is skipped, a stretch may be sent twice.
 */
export class LedgerRelay extends CheckpointedRelay<LedgerRelayDeps> {
  private subscription: Subscription | null = null;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(deps: LedgerRelayDeps, options: LedgerRelayOptions = {}) {
    super(deps, options, 'ledger');
  }

  protected begin(): void {
    this.subscribe();
  }

  protected async end(): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const subscription = this.subscription;
    this.subscription = null;
    await subscription?.stop();
  }

  protected async lag(): Promise<RelayLag> {
    const head = await this.deps.store.headPosition().catch(() => null);
    const behind = head === null ? 0 : Math.max(0, head - (this.checkpoint ?? 0));
    let lagMs = 0;
    if (behind > 0) {
      const [oldest] = await this.deps.store.readAll({ after: this.checkpoint, maxCount: 1 }).catch(() => []);
      if (oldest) lagMs = Math.max(0, Date.now() - Date.parse(oldest.recordedAt));
    }
    return { head, lagPositions: behind, lagMs };
  }

  private subscribe(): void {
    // The stored checkpoint, not the one in memory: after a failure the two agree anyway, and an
    // operator's reset (or a rewound checkpoint) is honoured on the next start.
    this.checkpoint = this.deps.checkpoints.load(this.name);
    this.state = 'catching_up';
    this.subscription = this.deps.store.subscribeToAll(
      { after: this.checkpoint, maxBatchSize: this.batchSize },
      {
        onEvents: (events) => this.relay(events),
        onCaughtUp: () => {
          if (this.running && this.state === 'catching_up') this.state = 'live';
        },
        onStopped: (error) => this.onStopped(error),
      },
    );
  }

  private async relay(events: RecordedEvent[]): Promise<void> {
    if (events.length === 0) return;
    if (!this.running) throw new Error('the relay is stopping');
    this.state = 'catching_up';
    await this.send(events.map((event) => ledgerEventMessage(this.deps.topic, event)));
    this.commit(events[events.length - 1].position);
  }

  private onStopped(error: unknown): void {
    this.subscription = null;
    if (!this.running) return;
    if (error === undefined) {
      // The store ended the subscription without a failure: start again from the checkpoint.
      this.scheduleRestart(0);
      return;
    }
    this.scheduleRestart(this.stalled(error));
  }

  private scheduleRestart(delayMs: number): void {
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.running && !this.subscription) this.subscribe();
    }, delayMs);
    this.restartTimer.unref();
  }
}
