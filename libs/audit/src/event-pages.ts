import type { EventStore, RecordedEvent } from '@ledger/event-store';

/** Big pages: one round trip (or one SQLite statement) per page, not per event. */
export const DEFAULT_PAGE_SIZE = 5_000;

/**
 * Lets timers and I/O run between pages. An embedded store answers reads synchronously, so without
 * this a long scan inside the service would hold the event loop for its whole run.
 */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One stream forwards from a revision, a page at a time. Ends at the stream's end (or `toRevision`). */
export async function* streamPages(
  store: EventStore,
  streamId: string,
  { fromRevision = 0, toRevision = Infinity, pageSize = DEFAULT_PAGE_SIZE }: { fromRevision?: number; toRevision?: number; pageSize?: number } = {},
): AsyncGenerator<RecordedEvent[]> {
  let next = fromRevision;
  while (next <= toRevision) {
    const maxCount = Math.max(1, Math.min(pageSize, toRevision - next + 1));
    const { events, currentRevision } = await store.readStream(streamId, { fromRevision: next, maxCount });
    if (events.length === 0) return;
    yield events;
    const last = events[events.length - 1].revision;
    if (last >= currentRevision) return;
    next = last + 1;
    await yieldToEventLoop();
  }
}

/** Every event of the store in global order, after a position (exclusive), a page at a time. */
export async function* allPages(
  store: EventStore,
  { after = null, pageSize = DEFAULT_PAGE_SIZE }: { after?: number | null; pageSize?: number } = {},
): AsyncGenerator<RecordedEvent[]> {
  let cursor = after;
  for (;;) {
    const events = await store.readAll({ after: cursor, maxCount: pageSize });
    if (events.length === 0) return;
    yield events;
    // Only an empty page ends the scan: an adapter may return short pages (e.g. after filtering).
    cursor = events[events.length - 1].position;
    await yieldToEventLoop();
  }
}

/** How far through the store a long run is: for progress bars. */
export interface ScanProgress {
  events: number;
  position: number | null;
  /** The store's head when the run began; positions grow but need not be consecutive. */
  head: number | null;
  elapsedMs: number;
}

export type ProgressListener = (progress: ScanProgress) => void;
