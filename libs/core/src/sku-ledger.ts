import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  EventTypes,
  skuDecider,
  skuStreamId,
  type CommandResult,
  type InventoryEvent,
  type SkuCommand,
  type SkuDecision,
  type SkuState,
} from '@ledger/domain';
import { EVENT_STORE, type EventStore } from '@ledger/event-store';
import { inventoryEvents } from '@ledger/ledger-model';
import { MetricsService } from '@ledger/platform';
import type { CommandContext, CommandOutcome } from './command-context';
import { StreamCommandLoop, type StreamView } from './stream-command-loop';

const MAX_ATTEMPTS = 8;
/** Most commands of one SKU decided together and committed in one append (the stream batch). */
const MAX_BATCH = 500;
const MAX_CACHED_SKUS = 50_000;
/** Entity records (holds, receipts, sales...) kept across cached states: bounds memory, not just SKU count. */
const MAX_CACHED_RECORDS = 500_000;

/**
 * The write side of the SKU streams: the SKU decider on the stream command loop, with its cache
 * bounds and metrics. Commands for one SKU are decided in turn and group-committed; different SKUs
 * never wait for each other (see StreamCommandLoop).
 */
@Injectable()
export class SkuLedger {
  private readonly logger = new Logger(SkuLedger.name);
  private readonly loop: StreamCommandLoop<SkuCommand, InventoryEvent, SkuState, CommandResult>;

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    private readonly metrics: MetricsService,
  ) {
    this.loop = new StreamCommandLoop(store, {
      decider: skuDecider,
      codec: inventoryEvents,
      occurredAt: (command) => command.now,
      maxAttempts: MAX_ATTEMPTS,
      maxBatch: MAX_BATCH,
      cache: { maxStreams: MAX_CACHED_SKUS, maxRecords: MAX_CACHED_RECORDS, recordsOf: recordCount },
      hooks: {
        appended: (commands, seconds) => {
          this.metrics.appendDuration.observe(seconds);
          this.metrics.appendBatchSize.observe(commands);
        },
        conflicted: () => this.metrics.appendConflicts.inc(),
        failed: (streamId, error) => {
          this.metrics.appendErrors.inc();
          this.logger.warn(`append to ${streamId} failed: ${(error as Error).message}`);
        },
        answered: (command, decision) => this.count(command, decision),
      },
    });
  }

  execute(sku: string, command: SkuCommand, context: CommandContext): Promise<CommandOutcome> {
    return this.loop.execute(skuStreamId(sku), command, context);
  }

  /** The committed state of a SKU, read in turn with its commands so it never shows a half-done batch. */
  read(sku: string): Promise<StreamView<SkuState>> {
    return this.loop.read(skuStreamId(sku));
  }

  private count(command: SkuCommand, decision: SkuDecision): void {
    let expired = 0;
    for (const event of decision.events) if (event.type === EventTypes.ReservationReleased && event.data.reason === 'expired') expired++;
    if (expired > 0) this.metrics.expiredHolds.inc(expired);
    if (decision.error?.code === 'INSUFFICIENT_STOCK' && (command.type === 'ReserveStock' || command.type === 'SellStock')) {
      this.metrics.stockRefusals.inc({ channel: command.channel });
    }
  }
}

function recordCount(state: SkuState): number {
  return state.reservations.size + state.receipts.size + state.adjustments.size + state.sales.size + state.returns.size;
}
