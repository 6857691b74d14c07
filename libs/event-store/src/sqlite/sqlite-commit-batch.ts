import type Database from 'better-sqlite3';
import { WrongExpectedRevisionError } from '../errors';
import type { AppendResult, EventToAppend, ExpectedRevision } from '../event-store.port';
import type { Statements } from './sqlite-schema';

interface PendingAppend {
  streamId: string;
  events: EventToAppend[];
  expected: ExpectedRevision;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

type Outcome = { ok: true; result: AppendResult } | { ok: false; error: unknown };

/**
 * The store's commit batch: appends are collected until the end of the current microtask queue and
 * written together, one transaction (and one fsync) for every stream appended to in the same turn,
 * each stream's append in a savepoint of its own, so one refused (wrong revision) or failing append
 * leaves the others alone. Nobody hears back before the shared transaction is durable. Each append
 * is a synchronous transaction, so the expected-revision check and the insert are one atomic step.
 */
export class SqliteCommitBatch {
  private pending: PendingAppend[] = [];
  private readonly appendOne;
  private readonly appendGroup;

  constructor(
    db: Database.Database,
    private readonly statements: Statements,
    private readonly now: () => Date,
    /** Events were stored (not only repeats or empty appends): subscribers may read on. */
    private readonly onAppended: () => void,
  ) {
    this.appendOne = db.transaction((streamId: string, events: EventToAppend[], expected: ExpectedRevision) => this.write(streamId, events, expected));
    // Called inside a transaction, appendOne runs in a savepoint: a throw undoes only its own writes.
    this.appendGroup = db.transaction((batch: PendingAppend[], outcomes: Outcome[]) => {
      for (const item of batch) {
        try {
          outcomes.push({ ok: true, result: this.appendOne(item.streamId, item.events, item.expected) });
        } catch (error) {
          outcomes.push({ ok: false, error });
        }
      }
    });
  }

  append(streamId: string, events: EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ streamId, events, expected, resolve, reject });
      if (this.pending.length === 1) queueMicrotask(this.flush);
    });
  }

  private readonly flush = (): void => {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 1) {
      const [only] = batch;
      try {
        only.resolve(this.appendOne.immediate(only.streamId, only.events, only.expected));
      } catch (error) {
        only.reject(error);
      }
      if (only.events.length > 0) this.onAppended();
      return;
    }
    const outcomes: Outcome[] = [];
    try {
      this.appendGroup.immediate(batch, outcomes);
    } catch (error) {
      // The shared commit failed: nothing of the group is stored.
      for (const item of batch) item.reject(error);
      return;
    }
    let appended = false;
    batch.forEach((item, index) => {
      const outcome = outcomes[index];
      if (outcome.ok) {
        appended ||= item.events.length > 0;
        item.resolve(outcome.result);
      } else item.reject(outcome.error);
    });
    if (appended) this.onAppended();
  };

  private write(streamId: string, events: EventToAppend[], expected: ExpectedRevision): AppendResult {
    const current = this.statements.currentRevision.get(streamId)?.revision ?? -1;
    const repeat = this.repeatedAppend(streamId, events);
    if (repeat) return repeat;
    assertExpected(streamId, expected, current);
    const recordedAt = this.now().toISOString();
    let revision = current;
    // Each insert says its own position; the head is only the answer to an empty append.
    let position = events.length > 0 ? 0 : (this.statements.head.get()?.position ?? 0);
    for (const event of events) {
      revision += 1;
      const info = this.statements.insert.run(streamId, revision, event.id, event.type, JSON.stringify(event.data), JSON.stringify(event.metadata ?? {}), recordedAt);
      position = Number(info.lastInsertRowid);
    }
    return { nextExpectedRevision: revision, position };
  }

  /**
   * An append whose event ids are already the stream's events, in order, is a retry of one that
   * succeeded: answer it as before instead of writing twice or failing the retry.
   */
  private repeatedAppend(streamId: string, events: EventToAppend[]): AppendResult | null {
    if (events.length === 0) return null;
    const first = this.statements.byEventId.get(events[0].id);
    if (!first) return null;
    let last = first;
    for (let index = 0; index < events.length; index++) {
      const stored = this.statements.byEventId.get(events[index].id);
      if (!stored || stored.stream_id !== streamId || stored.revision !== first.revision + index) {
        throw new WrongExpectedRevisionError(streamId, 'any', null);
      }
      last = stored;
    }
    return { nextExpectedRevision: last.revision, position: last.position };
  }
}

function assertExpected(streamId: string, expected: ExpectedRevision, current: number): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && current === -1) ||
    (expected === 'stream_exists' && current >= 0) ||
    expected === current;
  if (!ok) throw new WrongExpectedRevisionError(streamId, expected, current);
}
