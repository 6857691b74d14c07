import { EventEmitter } from 'node:events';

/** One record of the log. EventStoreDB gives each event its own record, so commit = prepare = `position`. */
export interface StoredEvent {
  streamId: string;
  revision: number;
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  metadata: Uint8Array;
  position: number;
  /** .NET ticks (100 ns) since the Unix epoch, as the server sends them in the `created` metadata entry. */
  created: bigint;
}

export interface ProposedEvent {
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  metadata: Uint8Array;
}

export type Expected = { kind: 'any' } | { kind: 'no_stream' } | { kind: 'stream_exists' } | { kind: 'revision'; revision: number };

export type AppendOutcome =
  /** `revision` -1 means the stream still does not exist; `position` null means the server gives none. */
  | { kind: 'success'; revision: number; position: number | null }
  | { kind: 'wrong_expected_version'; current: number }
  | { kind: 'stream_deleted' };

export interface EventLogOptions {
  /** EventStoreDB 22.x+ answers an idempotent retry with the log position of its last event; 20.x gave none. */
  positionOnIdempotentAppend: boolean;
}

/**
 * The emulator's storage: one ordered array ($all) plus an index per stream. It decides appends with the
 * rules of EventStoreDB's IndexWriter.CheckCommit (see the emulator's header) and emits 'appended' so live
 * subscriptions can follow.
 */
export class EventLog extends EventEmitter {
  readonly all: StoredEvent[] = [];
  private readonly streams = new Map<string, StoredEvent[]>();
  private readonly byId = new Map<string, StoredEvent>();
  private readonly tombstoned = new Set<string>();
  // A fresh database already holds a few records; positions are byte offsets, so they grow unevenly.
  private nextPosition = 1_024;

  constructor(private readonly options: EventLogOptions) {
    super();
  }

  stream(streamId: string): StoredEvent[] | undefined {
    return this.streams.get(streamId);
  }

  isTombstoned(streamId: string): boolean {
    return this.tombstoned.has(streamId);
  }

  append(streamId: string, expected: Expected, events: ProposedEvent[]): AppendOutcome {
    if (this.tombstoned.has(streamId)) return { kind: 'stream_deleted' };
    const current = (this.streams.get(streamId)?.length ?? 0) - 1;
    const decision = this.check(streamId, expected, current, events);
    if (decision) return decision;
    const stream = this.streams.get(streamId) ?? [];
    this.streams.set(streamId, stream);
    const created = BigInt(Date.now()) * 10_000n;
    const written = events.map((event, index): StoredEvent => {
      const stored = { ...event, streamId, revision: current + 1 + index, position: this.nextPosition, created };
      this.nextPosition += 96 + streamId.length + event.type.length + event.data.length + event.metadata.length;
      stream.push(stored);
      this.all.push(stored);
      this.byId.set(event.id, stored);
      return stored;
    });
    if (written.length > 0) this.emit('appended');
    return { kind: 'success', revision: current + written.length, position: written.at(-1)?.position ?? null };
  }

  /** A hard delete: the stream can never be read or written again. */
  tombstone(streamId: string, expected: Expected): AppendOutcome {
    if (this.tombstoned.has(streamId)) return { kind: 'stream_deleted' };
    const current = (this.streams.get(streamId)?.length ?? 0) - 1;
    const decision = this.check(streamId, expected, current, []);
    if (decision) return decision;
    this.tombstoned.add(streamId);
    return { kind: 'success', revision: current, position: null };
  }

  /** Null when the append may go ahead; otherwise the answer (idempotent success or a refusal). */
  private check(streamId: string, expected: Expected, current: number, events: ProposedEvent[]): AppendOutcome | null {
    if (expected.kind === 'stream_exists' && current < 0) return { kind: 'wrong_expected_version', current };
    if (expected.kind === 'any' || expected.kind === 'stream_exists') {
      // Best effort in EventStoreDB (a cache of recent ids): ids already in this stream make it a retry.
      const found = events.map((event) => this.byId.get(event.id)).map((e) => (e?.streamId === streamId ? e : undefined));
      if (events.length === 0 || !found[0]) return null;
      if (found.some((event) => !event)) return { kind: 'wrong_expected_version', current };
      return this.idempotent(found.at(-1)!);
    }
    const revision = expected.kind === 'no_stream' ? -1 : expected.revision;
    if (revision > current) return { kind: 'wrong_expected_version', current };
    if (revision === current) return null;
    // Expecting an earlier revision: fine only if these exact events already sit right after it.
    const stream = this.streams.get(streamId) ?? [];
    const same = events.every((event, index) => stream[revision + 1 + index]?.id === event.id);
    if (events.length === 0 || !same) return { kind: 'wrong_expected_version', current };
    return this.idempotent(stream[revision + events.length]);
  }

  private idempotent(last: StoredEvent): AppendOutcome {
    return { kind: 'success', revision: last.revision, position: this.options.positionOnIdempotentAppend ? last.position : null };
  }
}
