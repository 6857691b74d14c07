import { EventTypes, isLedgerStream, skuFromStreamId, skuStreamId } from '@ledger/domain';
import type { EventStore, RecordedEvent } from '@ledger/event-store';
import { DEFAULT_PAGE_SIZE, allPages, streamPages, type ProgressListener } from './event-pages';
import { GENESIS_HASH, chainHash } from '@ledger/ledger-model';
import { brokenInvariant, figuresAtIn, foldLocationFigures, type LocationFigures } from './location-fold';

export type BreakKind =
  /** The event's content does not give the hash stored with it: data, type or metadata changed. */
  | 'hash-mismatch'
  /** The event's prevHash is not the hash of the stream's event before it: one removed, inserted or replaced. */
  | 'broken-link'
  /** The stream skips or repeats a revision here: an event is missing or out of order. */
  | 'revision-gap'
  /** Global positions do not grow here: events are out of order. */
  | 'position-order'
  /** The event carries no hash (or prevHash) at all. */
  | 'missing-hash'
  /** An event type the ledger never writes to this kind of stream. */
  | 'unknown-type'
  /** After this event a figure broke an invariant (negative, or more reserved than on hand). */
  | 'invariant'
  /** A line of an export file that is not an event. */
  | 'malformed';

export interface ChainBreak {
  kind: BreakKind;
  streamId: string | null;
  sku: string | null;
  revision: number | null;
  position: number | null;
  eventId: string | null;
  /** Line of the export file (1-based), when verifying a file. */
  line?: number;
  expectedHash?: string;
  foundHash?: string;
  expectedRevision?: number;
  expectedPositionAfter?: number;
  invariant?: { location: string; rule: string; field: string; value: number };
  message: string;
}

export interface PartialStream {
  streamId: string;
  firstRevision: number;
  /** The prevHash the first event in the file names: taken on trust, the file cannot prove it. */
  anchorHash: string;
}

export interface VerifyReport {
  ok: boolean;
  source: 'store' | 'file';
  /** The SKU checked, or null for every stream. */
  sku: string | null;
  events: number;
  streams: number;
  skuStreams: number;
  /** Events of streams that are not the ledger's (not checked). */
  skippedEvents: number;
  firstPosition: number | null;
  lastPosition: number | null;
  firstBreak: ChainBreak | null;
  breaks: ChainBreak[];
  /** More breaks were found than are listed. */
  breaksTruncated: boolean;
  totalBreaks: number;
  /** Streams a file holds only from the middle of their chain. */
  partialStreams: PartialStream[];
  notes: string[];
  durationMs: number;
}

export interface VerifyOptions {
  source: 'store' | 'file';
  sku?: string | null;
  /** Breaks listed in the report (all are counted). */
  maxBreaks?: number;
}

interface StreamCheck {
  nextRevision: number;
  lastHash: string;
  /** Null where invariants cannot be checked (a stream the file holds from mid-chain) or the channels stream. */
  figures: Map<string, LocationFigures> | null;
  at: ((location: string) => LocationFigures) | null;
  /** An invariant already failed in this stream: reported once, the figures carry on as they stand. */
  invariantBroken: boolean;
}

const SKU_EVENT_TYPES = new Set<string>(Object.values(EventTypes).filter((type) => type !== EventTypes.ChannelConfigured));

/**
 * Recomputes hash chains and invariants over events fed in global order, keeping a few numbers per
 * stream and location: a whole ledger can be verified in flat memory. Each stream is its own chain
 * (every SKU stream and the channels stream). It keeps going after a break, re-anchoring on what is
 * stored, so one tampered event is reported once rather than breaking every later check.
 */
export class ChainVerifier {
  private readonly streams = new Map<string, StreamCheck>();
  private readonly breaks: ChainBreak[] = [];
  private readonly partial: PartialStream[] = [];
  private readonly maxBreaks: number;
  private readonly started = Date.now();
  private totalBreaks = 0;
  private events = 0;
  private skuStreams = 0;
  private skipped = 0;
  private firstPosition: number | null = null;
  private lastPosition: number | null = null;

  constructor(private readonly options: VerifyOptions) {
    this.maxBreaks = options.maxBreaks ?? 100;
  }

  get breakCount(): number {
    return this.totalBreaks;
  }

  /** One event, in the order of the source. `line` is its line in an export file. */
  check(event: RecordedEvent, line?: number): void {
    if (!isLedgerStream(event.streamId)) {
      this.skipped += 1;
      return;
    }
    this.events += 1;
    const where = { streamId: event.streamId, sku: skuFromStreamId(event.streamId), revision: event.revision, position: event.position, eventId: event.id, ...(line !== undefined ? { line } : {}) };
    if (this.lastPosition !== null && !(event.position > this.lastPosition)) {
      this.fail({
        kind: 'position-order',
        ...where,
        expectedPositionAfter: this.lastPosition,
        message: `position ${event.position} does not follow ${this.lastPosition}: events are out of order`,
      });
    }
    if (this.firstPosition === null) this.firstPosition = event.position;
    this.lastPosition = Math.max(this.lastPosition ?? event.position, event.position);

    const metadata = event.metadata ?? {};
    const storedHash = typeof metadata.hash === 'string' ? metadata.hash : null;
    const storedPrev = typeof metadata.prevHash === 'string' ? metadata.prevHash : null;
    let stream = this.streams.get(event.streamId);
    if (!stream) stream = this.open(event, storedPrev, where);

    let broken = false;
    if (event.revision !== stream.nextRevision) {
      // The figures before this event are unknown now: stop judging this stream's invariants.
      stream.figures = null;
      stream.at = null;
      broken = this.fail({
        kind: 'revision-gap',
        ...where,
        expectedRevision: stream.nextRevision,
        message:
          event.revision > stream.nextRevision
            ? `expected revision ${stream.nextRevision}, found ${event.revision}: ${event.revision - stream.nextRevision} event(s) missing or out of order before this one`
            : `expected revision ${stream.nextRevision}, found ${event.revision} again or earlier: events out of order or repeated`,
      });
    }
    if (!broken && (storedHash === null || storedPrev === null)) {
      broken = this.fail({ kind: 'missing-hash', ...where, message: `event has no ${storedHash === null ? 'hash' : 'prevHash'} in its metadata` });
    }
    if (!broken && storedPrev !== stream.lastHash) {
      stream.figures = null;
      stream.at = null;
      broken = this.fail({
        kind: 'broken-link',
        ...where,
        expectedHash: stream.lastHash,
        foundHash: storedPrev ?? undefined,
        message: `prevHash does not match the hash of revision ${stream.nextRevision - 1}: an event before this one was removed, replaced or reordered`,
      });
    }
    // The content check stands on its own (the event's own prevHash): run it after a gap too.
    if (storedHash !== null && storedPrev !== null) {
      const recomputed = chainHash(storedPrev, { type: event.type, data: event.data, metadata });
      if (recomputed !== storedHash) {
        broken = this.fail({
          kind: 'hash-mismatch',
          ...where,
          expectedHash: recomputed,
          foundHash: storedHash,
          message: 'the event content does not give its stored hash: type, data or metadata was changed after it was written',
        });
      }
    }
    const isSku = where.sku !== null;
    if (!broken && !(isSku ? SKU_EVENT_TYPES.has(event.type) : event.type === EventTypes.ChannelConfigured)) {
      broken = this.fail({ kind: 'unknown-type', ...where, message: `type ${event.type} is not written to ${isSku ? 'SKU' : 'the channels'} stream` });
    }
    // Re-anchor on what is stored so the next event is judged on its own.
    stream.lastHash = storedHash ?? stream.lastHash;
    stream.nextRevision = event.revision + 1;

    if (stream.at && stream.figures) {
      foldLocationFigures(stream.at, event.type, event.data ?? {});
      if (!stream.invariantBroken) {
        for (const [location, figures] of stream.figures) {
          const invariant = brokenInvariant(figures);
          if (!invariant) continue;
          stream.invariantBroken = true;
          this.fail({ kind: 'invariant', ...where, invariant: { location, ...invariant }, message: `after this event at ${location}: ${invariant.rule} (${invariant.field} = ${invariant.value})` });
          break;
        }
      }
    }
  }

  /** A line that is not an event. */
  malformed(line: number, problem: string): void {
    this.fail({ kind: 'malformed', streamId: null, sku: null, revision: null, position: null, eventId: null, line, message: `line ${line}: ${problem}` });
  }

  private fail(problem: ChainBreak): true {
    this.totalBreaks += 1;
    if (this.breaks.length < this.maxBreaks) this.breaks.push(problem);
    return true;
  }

  report(): VerifyReport {
    const notes: string[] = [];
    if (this.partial.length > 0) {
      notes.push(
        `${this.partial.length} stream(s) start mid-chain in this file (first revision above 0): their links are verified from the first event's prevHash, ` +
          'which the file cannot prove by itself, and their invariants are not checked because the figures before the file are unknown. ' +
          'Verify against the live store, or an export from the beginning, for a complete proof.',
      );
    }
    if (this.options.sku) notes.push(`only the stream of SKU ${this.options.sku} was checked; the channels stream and other SKUs were not`);
    if (this.events === 0) notes.push('no ledger events were found');
    return {
      ok: this.totalBreaks === 0,
      source: this.options.source,
      sku: this.options.sku ?? null,
      events: this.events,
      streams: this.streams.size,
      skuStreams: this.skuStreams,
      skippedEvents: this.skipped,
      firstPosition: this.firstPosition,
      lastPosition: this.lastPosition,
      firstBreak: this.breaks[0] ?? null,
      breaks: [...this.breaks],
      breaksTruncated: this.totalBreaks > this.breaks.length,
      totalBreaks: this.totalBreaks,
      partialStreams: [...this.partial],
      notes,
      durationMs: Date.now() - this.started,
    };
  }

  private open(event: RecordedEvent, storedPrev: string | null, where: Omit<ChainBreak, 'kind' | 'message'>): StreamCheck {
    const isSku = skuFromStreamId(event.streamId) !== null;
    if (isSku) this.skuStreams += 1;
    let stream: StreamCheck;
    if (event.revision > 0 && this.options.source === 'file') {
      // A time-range export holds this stream from the middle: trust the first link, check the rest.
      const anchorHash = storedPrev ?? GENESIS_HASH;
      this.partial.push({ streamId: event.streamId, firstRevision: event.revision, anchorHash });
      stream = { nextRevision: event.revision, lastHash: anchorHash, figures: null, at: null, invariantBroken: false };
    } else {
      const figures = isSku ? new Map<string, LocationFigures>() : null;
      stream = { nextRevision: 0, lastHash: GENESIS_HASH, figures, at: figures ? figuresAtIn(figures) : null, invariantBroken: false };
      if (event.revision !== 0) {
        // From the store every stream must start at revision 0: the first events are gone.
        this.fail({
          kind: 'revision-gap',
          ...where,
          expectedRevision: 0,
          message: `the stream starts at revision ${event.revision}: its first ${event.revision} event(s) are missing`,
        } as ChainBreak);
        stream.nextRevision = event.revision;
        stream.lastHash = storedPrev ?? GENESIS_HASH;
        stream.figures = null;
        stream.at = null;
      }
    }
    this.streams.set(event.streamId, stream);
    return stream;
  }
}

export interface VerifyStoreOptions {
  /** One SKU's stream only; every ledger stream when absent. */
  sku?: string | null;
  pageSize?: number;
  maxBreaks?: number;
  onProgress?: ProgressListener;
}

/** Verifies the live store through the port: one SKU's stream, or every ledger stream in global order. */
export async function verifyStore(store: EventStore, options: VerifyStoreOptions = {}): Promise<VerifyReport> {
  const verifier = new ChainVerifier({ source: 'store', sku: options.sku ?? null, maxBreaks: options.maxBreaks });
  const started = Date.now();
  const head = options.onProgress ? await store.headPosition() : null;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const pages = options.sku ? streamPages(store, skuStreamId(options.sku), { pageSize }) : allPages(store, { pageSize });
  let seen = 0;
  for await (const page of pages) {
    for (let i = 0; i < page.length; i++) verifier.check(page[i]);
    seen += page.length;
    options.onProgress?.({ events: seen, position: page[page.length - 1].position, head, elapsedMs: Date.now() - started });
  }
  return verifier.report();
}
