import { Inject, Injectable, Logger } from '@nestjs/common';
import { GENESIS_HASH, envelope } from '@ledger/ledger-model';
import {
  EventTypes,
  decide,
  evolve,
  initialState,
  skuStreamId,
  type Decision,
  type InventoryEvent,
  type SkuCommand,
  type SkuState,
} from '@ledger/domain';
import { EVENT_STORE, WrongExpectedRevisionError, type EventStore, type EventToAppend } from '@ledger/event-store';
import { MetricsService } from '@ledger/platform';
import { ConcurrencyRetriesExhaustedError, type CommandContext, type CommandOutcome } from './command-context';

const MAX_ATTEMPTS = 8;
const MAX_BATCH = 500;
const MAX_CACHED_SKUS = 50_000;
/** Entity records (holds, receipts, sales...) kept across cached states: bounds memory, not just SKU count. */
const MAX_CACHED_RECORDS = 500_000;

interface PendingCommand {
  kind: 'command';
  command: SkuCommand;
  context: CommandContext;
  resolve(outcome: CommandOutcome): void;
  reject(error: unknown): void;
}

interface PendingQuery {
  kind: 'query';
  resolve(view: { state: SkuState; revision: number }): void;
  reject(error: unknown): void;
}

type Pending = PendingCommand | PendingQuery;

/** The write side's view of one SKU stream: state as of `revision`, and the hash chain's last link. */
interface SkuStream {
  streamId: string;
  state: SkuState | null;
  revision: number;
  lastHash: string;
  lastPosition: number | null;
  queue: Pending[];
  draining: boolean;
  /** Entity records in `state`, as last counted. */
  records: number;
}

/**
 * Decides and appends commands per SKU. Commands for one SKU queue behind each other; everything
 * queued while an append is in flight is decided together and committed in one append guarded by
 * the expected revision (group commit). State stays cached and is trusted only as far as that
 * revision: a conflict drops it, reloads from the store and decides again. Different SKUs never wait
 * for each other.
 */
@Injectable()
export class SkuLedger {
  private readonly logger = new Logger(SkuLedger.name);
  private readonly streams = new Map<string, SkuStream>();
  private cachedRecords = 0;
  private ready: SkuStream[] = [];

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly metrics: MetricsService,
  ) {}

  execute(sku: string, command: SkuCommand, context: CommandContext): Promise<CommandOutcome> {
    return new Promise((resolve, reject) => this.enqueue(sku, { kind: 'command', command, context, resolve, reject }));
  }

  /** The committed state of a SKU, read in turn with its commands so it never shows a half-done batch. */
  read(sku: string): Promise<{ state: SkuState; revision: number }> {
    return new Promise((resolve, reject) => this.enqueue(sku, { kind: 'query', resolve, reject }));
  }

  private enqueue(sku: string, pending: Pending): void {
    const stream = this.streamFor(sku);
    stream.queue.push(pending);
    if (!stream.draining) {
      stream.draining = true;
      // Let the commands that arrive in this tick join the same batch: one check-phase callback
      // starts every SKU that has work, so their appends reach the store in the same turn and can
      // share its commit.
      this.ready.push(stream);
      if (this.ready.length === 1) setImmediate(this.drainReady);
    }
  }

  private readonly drainReady = (): void => {
    const ready = this.ready;
    this.ready = [];
    for (const stream of ready) void this.drain(stream);
  };

  private async drain(stream: SkuStream): Promise<void> {
    while (stream.queue.length > 0) {
      const batch = stream.queue.splice(0, MAX_BATCH);
      await this.process(stream, batch);
    }
    stream.draining = false;
    const records = stream.state ? recordCount(stream.state) : 0;
    this.cachedRecords += records - stream.records;
    stream.records = records;
    this.evictIfCrowded();
  }

  private async process(stream: SkuStream, batch: Pending[]): Promise<void> {
    const commands: PendingCommand[] = [];
    const queries: PendingQuery[] = [];
    for (const pending of batch) {
      if (pending.kind === 'command') commands.push(pending);
      else queries.push(pending);
    }
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      try {
        if (!stream.state) await this.load(stream);
        const settle = await this.commit(stream, commands);
        settle();
        const state = stream.state as SkuState | null;
        for (const query of queries) query.resolve({ state: state ?? initialState(), revision: stream.revision });
        return;
      } catch (error) {
        stream.state = null;
        if (error instanceof WrongExpectedRevisionError) {
          this.metrics.appendConflicts.inc();
          continue;
        }
        this.metrics.appendErrors.inc();
        this.logger.warn(`append to ${stream.streamId} failed: ${(error as Error).message}`);
        for (const pending of batch) pending.reject(error);
        return;
      }
    }
    const exhausted = new ConcurrencyRetriesExhaustedError(stream.streamId, MAX_ATTEMPTS);
    for (const pending of batch) pending.reject(exhausted);
  }

  /**
   * Decides every command against the state moved forward by the ones before it, appends all their
   * events at once, and returns how to answer each caller once the append is durable.
   */
  private async commit(stream: SkuStream, commands: PendingCommand[]): Promise<() => void> {
    const state = stream.state as SkuState;
    const toAppend: EventToAppend[] = [];
    const decisions: Decision[] = [];
    let prevHash = stream.lastHash;
    for (const { command, context } of commands) {
      const decision = decideQuietly(command, state);
      decisions.push(decision);
      for (const event of decision.events) {
        const wrapped = envelope(stream.streamId, event, context, command.now, prevHash);
        prevHash = wrapped.metadata.hash as string;
        toAppend.push(wrapped);
        evolve(state, event as InventoryEvent);
      }
    }
    if (toAppend.length > 0) {
      const expectedRevision = stream.revision < 0 ? 'no_stream' : stream.revision;
      const stopTimer = this.metrics.appendDuration.startTimer();
      const appended = await this.store.appendToStream(stream.streamId, toAppend, { expectedRevision });
      stopTimer();
      this.metrics.appendBatchSize.observe(commands.length);
      stream.revision = appended.nextExpectedRevision;
      stream.lastPosition = appended.position;
      stream.lastHash = prevHash;
    }
    return () => commands.forEach((pending, index) => this.answer(stream, pending, decisions[index]));
  }

  private answer(stream: SkuStream, pending: PendingCommand, decision: Decision): void {
    let expired = 0;
    for (const event of decision.events) if (event.type === EventTypes.ReservationReleased && event.data.reason === 'expired') expired++;
    if (expired > 0) this.metrics.expiredHolds.inc(expired);
    if (decision.error) {
      const { command } = pending;
      if (decision.error.code === 'INSUFFICIENT_STOCK' && (command.type === 'ReserveStock' || command.type === 'SellStock')) {
        this.metrics.stockRefusals.inc({ channel: command.channel });
      }
      pending.reject(decision.error);
      return;
    }
    pending.resolve({
      result: decision.result,
      revision: stream.revision,
      position: stream.lastPosition,
      duplicate: decision.events.length === 0,
    });
  }

  private async load(stream: SkuStream): Promise<void> {
    const { events, currentRevision } = await this.store.readStream(stream.streamId);
    const state = initialState();
    for (const event of events) evolve(state, event as unknown as InventoryEvent);
    const last = events[events.length - 1];
    stream.state = state;
    stream.revision = currentRevision;
    stream.lastHash = (last?.metadata.hash as string | undefined) ?? GENESIS_HASH;
    stream.lastPosition = last?.position ?? null;
  }

  private streamFor(sku: string): SkuStream {
    let stream = this.streams.get(sku);
    if (stream) {
      // Map order doubles as recency order for eviction.
      this.streams.delete(sku);
    } else {
      stream = { streamId: skuStreamId(sku), state: null, revision: -1, lastHash: GENESIS_HASH, lastPosition: null, queue: [], draining: false, records: 0 };
    }
    this.streams.set(sku, stream);
    return stream;
  }

  /** Drops the least recently used idle SKUs once too many, or too much history, is cached. */
  private evictIfCrowded(): void {
    if (this.streams.size <= MAX_CACHED_SKUS && this.cachedRecords <= MAX_CACHED_RECORDS) return;
    for (const [sku, stream] of this.streams) {
      if (this.streams.size <= MAX_CACHED_SKUS * 0.9 && this.cachedRecords <= MAX_CACHED_RECORDS * 0.9) break;
      if (stream.draining || stream.queue.length > 0) continue;
      this.streams.delete(sku);
      this.cachedRecords -= stream.records;
    }
  }
}

function recordCount(state: SkuState): number {
  return state.reservations.size + state.receipts.size + state.adjustments.size + state.sales.size + state.returns.size;
}

/**
 * `decide` without stack traces: a refusal is an answer, not a bug, and capturing the stack of every
 * DomainError cost more than the decision itself on a sold-out SKU. Anything else thrown is a bug:
 * `decide` is pure, so it runs again with stack traces on and that error, with its stack, propagates.
 */
function decideQuietly(command: SkuCommand, state: SkuState): Decision {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let decision: Decision;
  try {
    decision = decide(command, state);
  } catch {
    Error.stackTraceLimit = limit;
    return decide(command, state);
  } finally {
    Error.stackTraceLimit = limit;
  }
  return decision;
}
