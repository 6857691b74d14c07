import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { EventStore, JsonObject, RecordedEvent } from '@ledger/event-store';
import { DEFAULT_PAGE_SIZE, allPages, type ProgressListener } from './event-pages';
import { eventTime, isWithin, type Moment } from './moments';
import { ChainVerifier, type VerifyReport } from './verify';

/** One line of an export: the event as stored, with everything verify needs. */
export interface ExportRecord {
  streamId: string;
  revision: number;
  position: number;
  id: string;
  type: string;
  data: JsonObject;
  metadata: JsonObject;
  recordedAt: string;
}

export interface ExportOptions {
  /** Events that happened at or after this moment. */
  from?: Moment | null;
  /** Events that happened at or before this moment. */
  to?: Moment | null;
  pageSize?: number;
  onProgress?: ProgressListener;
}

export function exportRecord(event: RecordedEvent): ExportRecord {
  const { streamId, revision, position, id, type, data, metadata, recordedAt } = event;
  return { streamId, revision, position, id, type, data, metadata, recordedAt };
}

export function exportLine(event: RecordedEvent): string {
  return `${JSON.stringify(exportRecord(event))}\n`;
}

/**
 * The store's events in global order whose time (metadata.occurredAt, else recordedAt) is within
 * [from, to], as JSON lines. A stream that began before `from` appears from the middle of its chain:
 * verify checks such a stream from the first event's prevHash on and says so.
 */
export async function* exportEvents(store: EventStore, options: ExportOptions = {}): AsyncGenerator<string> {
  const started = Date.now();
  const head = options.onProgress ? await store.headPosition() : null;
  let seen = 0;
  for await (const page of allPages(store, { pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE })) {
    const lines: string[] = [];
    for (let i = 0; i < page.length; i++) {
      const event = page[i];
      if (isWithin(eventTime(event), options.from, options.to)) lines.push(exportLine(event));
    }
    seen += page.length;
    options.onProgress?.({ events: seen, position: page[page.length - 1].position, head, elapsedMs: Date.now() - started });
    if (lines.length > 0) yield lines.join('');
  }
}

/** Parses one export line; a string describing the problem when it is not an event. */
export function parseExportLine(text: string): RecordedEvent | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const record = value as Record<string, unknown>;
  const missing: string[] = (['streamId', 'id', 'type', 'recordedAt'] as const).filter((key) => typeof record[key] !== 'string');
  missing.push(...(['revision', 'position'] as const).filter((key) => typeof record[key] !== 'number' || !Number.isSafeInteger(record[key])));
  missing.push(...(['data', 'metadata'] as const).filter((key) => !record[key] || typeof record[key] !== 'object' || Array.isArray(record[key])));
  if (missing.length > 0) return `missing or invalid ${missing.join(', ')}`;
  return {
    streamId: record.streamId as string,
    revision: record.revision as number,
    position: record.position as number,
    id: record.id as string,
    type: record.type as string,
    data: record.data as JsonObject,
    metadata: record.metadata as JsonObject,
    recordedAt: record.recordedAt as string,
  };
}

/** Verifies export lines offline with the same checks as the live store. */
export async function verifyExportLines(
  lines: AsyncIterable<string> | Iterable<string>,
  options: { maxBreaks?: number; onProgress?: (progress: { events: number; lines: number }) => void } = {},
): Promise<VerifyReport> {
  const verifier = new ChainVerifier({ source: 'file', maxBreaks: options.maxBreaks });
  let number = 0;
  for await (const text of lines) {
    number += 1;
    if (text.trim() === '') continue;
    const event = parseExportLine(text);
    if (typeof event === 'string') verifier.malformed(number, event);
    else verifier.check(event, number);
    if (options.onProgress && number % 10_000 === 0) options.onProgress({ events: number, lines: number });
  }
  return verifier.report();
}

export async function verifyExportFile(
  path: string,
  options: { maxBreaks?: number; onProgress?: (progress: { events: number; lines: number }) => void } = {},
): Promise<VerifyReport> {
  // Opening first makes a missing or unreadable file fail here, with its own error.
  const handle = await open(path, 'r');
  const input = handle.createReadStream({ encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    return await verifyExportLines(lines, options);
  } finally {
    lines.close();
    input.destroy();
    await handle.close().catch(() => undefined);
  }
}
