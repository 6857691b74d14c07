import type { ChannelEvent, Decider, Decision, InventoryEvent } from '@ledger/domain';
import { WrongExpectedRevisionError, type EventStore, type EventToAppend, type RecordedEvent } from '@ledger/event-store';
import { GENESIS_HASH, envelope, lastHashOf, type CommandContext } from '@ledger/ledger-model';
import { ConcurrencyRetriesExhaustedError, type CommandOutcome } from './command-context';

/** A stream's state as of a revision (-1: the stream does not exist yet). */
export interface StreamView<State> {
  state: State;
  revision: number;
}

/** What the loop tells the metrics: each hook is optional and runs in line, so keep it cheap. */
export interface StreamLoopHooks<Command, Event, Result> {
  /** An append went through: how many commands it carried and how long the store took. */
  appended?(commands: number, seconds: number): void;
  /** The stream moved under us; the batch is decided again on a fresh load. */
  conflicted?(streamId: string): void;
  /** The load or the append failed for another reason; every caller of the batch gets the error. */
  failed?(streamId: string, error: unknown): void;
  /** A command's decision, once its events (if any) are durable; refusals too. */
  answered?(command: Command, decision: Decision<Event, Result>): void;
}

export interface StreamCommandLoopOptions<Command, Event, State, Result> {
  decider: Decider<Command, Event, State, Result>;
  /** Turns a stored event into one of the decider's events; null skips it (not this stream kind's). */
  codec: { decode(recorded: RecordedEvent): Event | null };
  /** When a command happened: its events' `occurredAt`, and part of their ids. */
  occurredAt(command: Command): number;
  /** Decide-and-append rounds per batch before giving up on a stream that keeps moving. */
  maxAttempts?: number;
  /** Most commands of one stream decided together and appended in one go. */
  maxBatch?: number;
  /** Bounds on cached states; without it every stream's state stays cached. */
  cache?: { maxStreams: number; maxRecords: number; recordsOf(state: State): number };
  hooks?: StreamLoopHooks<Command, Event, Result>;
}

interface PendingCommand<Command, Result> {
  kind: 'command';
  command: Command;
  context: CommandContext;
  resolve(outcome: CommandOutcome<Result>): void;
  reject(error: unknown): void;
}

interface PendingRead<State> {
  kind: 'read';
  /** Reload from the store first: another writer (another instance) may have moved the stream. */
  fresh: boolean;
  resolve(view: StreamView<State>): void;
  reject(error: unknown): void;
}

/** The loop's view of one stream: state as of `revision`, and the hash chain's last link. */
interface StreamSlot<Command, State, Result> {
  streamId: string;
  state: State | null;
  revision: number;
  lastHash: string;
  lastPosition: number | null;
  queue: (PendingCommand<Command, Result> | PendingRead<State>)[];
  draining: boolean;
  /** Entity records in `state`, as last counted (for the cache bound). */
  records: number;
}

/**
 * One decider over one stream, for any number of streams: load (or take the cached state), fold with
 * `evolve`, `decide`, envelope and hash-chain the events, append them with the expected revision, and
 * answer each caller. docs/architecture.md shows how a batch flows.
 *
 * The stream batch: commands for one stream queue behind each other; everything that queued while an
 * append was in flight is decided together, each against the state moved on by the ones before it,
 * and committed in one append. Streams never wait for each other, and the streams that have work in
 * the same turn start together, so their appends reach the store together (the store's commit batch).
 *
 * The cached state is trusted only as far as its revision: a conflict drops it, reloads from the store
 * and decides the batch again (at most `maxAttempts` times); any other failure drops it too.
 */
export class StreamCommandLoop<Command, Event extends InventoryEvent | ChannelEvent, State, Result> {
  private readonly streams = new Map<string, StreamSlot<Command, State, Result>>();
  private readonly maxAttempts: number;
  private readonly maxBatch: number;
  private readonly hooks: StreamLoopHooks<Command, Event, Result>;
  private cachedRecords = 0;
  private ready: StreamSlot<Command, State, Result>[] = [];

  constructor(
    private readonly store: EventStore,
    private readonly options: StreamCommandLoopOptions<Command, Event, State, Result>,
  ) {
    this.maxAttempts = options.maxAttempts ?? 8;
    this.maxBatch = options.maxBatch ?? 500;
    this.hooks = options.hooks ?? {};
  }

  execute(streamId: string, command: Command, context: CommandContext): Promise<CommandOutcome<Result>> {
    return new Promise((resolve, reject) => this.enqueue(streamId, { kind: 'command', command, context, resolve, reject }));
  }

  /** The committed state, read in turn with the stream's commands so it never shows a half-done batch. */
  read(streamId: string, { fresh = false } = {}): Promise<StreamView<State>> {
    return new Promise((resolve, reject) => this.enqueue(streamId, { kind: 'read', fresh, resolve, reject }));
  }

  /**
   * The cached state right now, if any, without queueing or touching its recency. While a batch is
   * in flight an in-place `evolve` may already show its events: call it after your own command settled.
   */
  peek(streamId: string): StreamView<State> | undefined {
    const slot = this.streams.get(streamId);
    return slot?.state != null ? { state: slot.state, revision: slot.revision } : undefined;
  }

  private enqueue(streamId: string, pending: PendingCommand<Command, Result> | PendingRead<State>): void {
    const slot = this.slotFor(streamId);
    slot.queue.push(pending);
    if (!slot.draining) {
      slot.draining = true;
      // Let what arrives in this tick join the same batch: one check-phase callback starts every
      // stream that has work, so their appends reach the store in the same turn and can share its commit.
      this.ready.push(slot);
      if (this.ready.length === 1) setImmediate(this.drainReady);
    }
  }

  private readonly drainReady = (): void => {
    const ready = this.ready;
    this.ready = [];
    for (const slot of ready) void this.drain(slot);
  };

  private async drain(slot: StreamSlot<Command, State, Result>): Promise<void> {
    while (slot.queue.length > 0) await this.process(slot, slot.queue.splice(0, this.maxBatch));
    slot.draining = false;
    const { cache } = this.options;
    if (!cache) return;
    const records = slot.state != null ? cache.recordsOf(slot.state) : 0;
    this.cachedRecords += records - slot.records;
    slot.records = records;
    this.evictIfCrowded(cache.maxStreams, cache.maxRecords);
  }

  private async process(slot: StreamSlot<Command, State, Result>, batch: (PendingCommand<Command, Result> | PendingRead<State>)[]): Promise<void> {
    const commands: PendingCommand<Command, Result>[] = [];
    const reads: PendingRead<State>[] = [];
    for (const pending of batch) {
      if (pending.kind === 'command') commands.push(pending);
      else reads.push(pending);
    }
    if (reads.some((read) => read.fresh)) slot.state = null;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      try {
        if (slot.state == null) await this.load(slot);
        const answer = await this.commit(slot, commands);
        answer();
        const view = { state: slot.state as State, revision: slot.revision };
        for (const read of reads) read.resolve(view);
        return;
      } catch (error) {
        slot.state = null;
        if (error instanceof WrongExpectedRevisionError) {
          this.hooks.conflicted?.(slot.streamId);
          continue;
        }
        this.hooks.failed?.(slot.streamId, error);
        for (const pending of batch) pending.reject(error);
        return;
      }
    }
    const exhausted = new ConcurrencyRetriesExhaustedError(slot.streamId, this.maxAttempts);
    for (const pending of batch) pending.reject(exhausted);
  }

  /**
   * Decides every command against the state moved forward by the ones before it, appends all their
   * events at once, and returns how to answer each caller once the append is durable.
   */
  private async commit(slot: StreamSlot<Command, State, Result>, commands: PendingCommand<Command, Result>[]): Promise<() => void> {
    const { decider, occurredAt } = this.options;
    let state = slot.state as State;
    const toAppend: EventToAppend[] = [];
    const decisions: Decision<Event, Result>[] = [];
    let prevHash = slot.lastHash;
    for (const { command, context } of commands) {
      const decision = decideQuietly(decider, command, state);
      decisions.push(decision);
      for (const event of decision.events) {
        const wrapped = envelope(slot.streamId, event, context, occurredAt(command), prevHash);
        prevHash = wrapped.metadata.hash;
        toAppend.push(wrapped);
        state = decider.evolve(state, event);
      }
    }
    if (toAppend.length > 0) {
      const expectedRevision = slot.revision < 0 ? 'no_stream' : slot.revision;
      const started = performance.now();
      const appended = await this.store.appendToStream(slot.streamId, toAppend, { expectedRevision });
      this.hooks.appended?.(commands.length, (performance.now() - started) / 1000);
      slot.state = state;
      slot.revision = appended.nextExpectedRevision;
      slot.lastPosition = appended.position;
      slot.lastHash = prevHash;
    }
    return () => commands.forEach((pending, index) => this.answer(slot, pending, decisions[index]));
  }

  private answer(slot: StreamSlot<Command, State, Result>, pending: PendingCommand<Command, Result>, decision: Decision<Event, Result>): void {
    this.hooks.answered?.(pending.command, decision);
    if (decision.error) {
      pending.reject(decision.error);
      return;
    }
    pending.resolve({ result: decision.result, revision: slot.revision, position: slot.lastPosition, duplicate: decision.events.length === 0 });
  }

  private async load(slot: StreamSlot<Command, State, Result>): Promise<void> {
    const { decider, codec } = this.options;
    const { events, currentRevision } = await this.store.readStream(slot.streamId);
    let state = decider.initialState();
    for (const recorded of events) {
      const event = codec.decode(recorded);
      if (event) state = decider.evolve(state, event);
    }
    slot.state = state;
    slot.revision = currentRevision;
    slot.lastHash = lastHashOf(events);
    slot.lastPosition = events[events.length - 1]?.position ?? null;
  }

  private slotFor(streamId: string): StreamSlot<Command, State, Result> {
    let slot = this.streams.get(streamId);
    if (slot) {
      // Map order doubles as recency order for eviction.
      this.streams.delete(streamId);
    } else {
      slot = { streamId, state: null, revision: -1, lastHash: GENESIS_HASH, lastPosition: null, queue: [], draining: false, records: 0 };
    }
    this.streams.set(streamId, slot);
    return slot;
  }

  /** Drops the least recently used idle streams once too many, or too much history, is cached. */
  private evictIfCrowded(maxStreams: number, maxRecords: number): void {
    if (this.streams.size <= maxStreams && this.cachedRecords <= maxRecords) return;
    for (const [streamId, slot] of this.streams) {
      if (this.streams.size <= maxStreams * 0.9 && this.cachedRecords <= maxRecords * 0.9) break;
      if (slot.draining || slot.queue.length > 0) continue;
      this.streams.delete(streamId);
      this.cachedRecords -= slot.records;
    }
  }
}

/**
 * `decide` without stack traces: a refusal is an answer, not a bug, and capturing the stack of every
 * DomainError cost more than the decision itself on a sold-out SKU. Anything else thrown is a bug:
 * `decide` is pure, so it runs again with stack traces on and that error, with its stack, propagates.
 */
function decideQuietly<Command, Event, State, Result>(decider: Decider<Command, Event, State, Result>, command: Command, state: State): Decision<Event, Result> {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return decider.decide(command, state);
  } catch {
    Error.stackTraceLimit = limit;
    return decider.decide(command, state);
  } finally {
    Error.stackTraceLimit = limit;
  }
}
