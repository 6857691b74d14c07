import type { RecordedEvent } from '@ledger/event-store';

/** A point in time as auditors ask for it: epoch ms and the canonical ISO form (`toISOString`). */
export interface Moment {
  ms: number;
  iso: string;
}

const ISO_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2}))?$/;

/**
 * Strict ISO 8601: a date (midnight UTC), or a date and time with a zone (Z or ±hh:mm). A time
 * without a zone is refused rather than read in the server's local zone; impossible calendar dates
 * (2026-02-30) are refused rather than rolled over. Null when the text is not such a time.
 */
export function parseMoment(text: string): Moment | null {
  if (typeof text !== 'string') return null;
  const match = ISO_PATTERN.exec(text.trim());
  if (!match) return null;
  const [, year, month, day, hour, minute, second] = match;
  const y = Number(year);
  const m = Number(month);
  const d = Number(day);
  if (m < 1 || m > 12 || d < 1 || d > daysIn(y, m)) return null;
  if (hour !== undefined && (Number(hour) > 23 || Number(minute) > 59 || Number(second ?? 0) > 59)) return null;
  const ms = Date.parse(text.trim());
  if (!Number.isFinite(ms)) return null;
  return momentFromMs(ms);
}

export function momentFromMs(ms: number): Moment {
  return { ms, iso: new Date(ms).toISOString() };
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** When an event happened: the command's time from its metadata, else when the store recorded it. */
export function eventTime(event: Pick<RecordedEvent, 'metadata' | 'recordedAt'>): string {
  const occurredAt = event.metadata?.occurredAt;
  return typeof occurredAt === 'string' ? occurredAt : event.recordedAt;
}

/**
 * Whether an ISO time is at or before the moment. Canonical UTC strings of equal length compare as
 * text (no Date.parse per event on long replays); anything else is parsed.
 */
export function isAtOrBefore(time: string, moment: Moment): boolean {
  if (time.length === 24 && moment.iso.length === 24 && time.charCodeAt(23) === 90 /* Z */) return time <= moment.iso;
  const ms = Date.parse(time);
  return Number.isFinite(ms) ? ms <= moment.ms : false;
}

export function isBefore(time: string, moment: Moment): boolean {
  if (time.length === 24 && moment.iso.length === 24 && time.charCodeAt(23) === 90) return time < moment.iso;
  const ms = Date.parse(time);
  return Number.isFinite(ms) ? ms < moment.ms : false;
}

/** Inclusive time window; either end may be open. */
export function isWithin(time: string, from: Moment | null | undefined, to: Moment | null | undefined): boolean {
  if (from && isBefore(time, from)) return false;
  if (to && !isAtOrBefore(time, to)) return false;
  return true;
}
