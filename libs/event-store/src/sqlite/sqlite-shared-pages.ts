import type { RecordedEvent } from '../event-store.port';

/** Decoded events kept for subscribers reading from the same position. */
const SHARED_PAGE_EVENTS = 40_000;

interface SharedPage {
  after: number;
  events: RecordedEvent[];
  /** Fewer than asked for: the head was reached, and a later append makes the page short. */
  atHead: boolean;
}

/**
 * The read behind subscriptions. Projections (and relays) read the same pages in step, each from
 * its own checkpoint: the last pages read are kept, decoded, and handed to the next subscriber
 * asking from the same position, so a page is fetched and parsed once rather than once per
 * subscriber. Subscribers must treat the events as read-only. Any prefix of the events after a
 * position is a correct answer, since positions are never filled in later; a page that ended at
 * the head is dropped on the next append so live subscribers do not lag a round behind.
 */
export class SharedPages {
  private pages: SharedPage[] = [];
  private events = 0;

  constructor(private readonly readAll: (after: number, maxCount: number) => RecordedEvent[]) {}

  read(after: number | null, maxCount: number): RecordedEvent[] {
    const from = after ?? 0;
    for (const page of this.pages) {
      if (page.after === from && (page.events.length >= maxCount || page.atHead)) {
        return page.events.length > maxCount ? page.events.slice(0, maxCount) : page.events;
      }
    }
    const events = this.readAll(from, maxCount);
    if (events.length === 0) return events;
    this.pages.push({ after: from, events, atHead: events.length < maxCount });
    this.events += events.length;
    while (this.events > SHARED_PAGE_EVENTS && this.pages.length > 1) {
      this.events -= (this.pages.shift() as SharedPage).events.length;
    }
    return events;
  }

  /** Something was appended: pages that ended at the old head are short now. */
  dropPagesAtHead(): void {
    if (!this.pages.some((page) => page.atHead)) return;
    this.pages = this.pages.filter((page) => !page.atHead);
    this.events = this.pages.reduce((sum, page) => sum + page.events.length, 0);
  }
}
