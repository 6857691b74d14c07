import { Logger, type LoggerService } from '@nestjs/common';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { setTimeout as delay } from 'node:timers/promises';
import { backoffDelay, parseRetryAfter } from '../http/retry';
import type { LedgerClient } from '../ledger/ledger-client';
import type { ChannelSync } from '../sync/channel-sync';
import { parseUpdate } from './availability-consumer';
import { resyncFromLedger } from './resync';

export interface SseSourceOptions {
  /** The ledger's base URL. */
  baseUrl: string;
  token?: string | null;
  sync: ChannelSync;
  ledger: LedgerClient;
  fetch?: typeof fetch;
  logger?: LoggerService;
  /** Reconnect pause, doubling per failure. Default 500 ms to 30 s. */
  backoff?: { initialMs: number; maxMs: number };
}

export interface SseSourceStats {
  events: number;
  connects: number;
  resyncs: number;
  lastEventId: string | null;
}

/**
 * The SSE source for a seller without Kafka: follows `GET /v1/availability/stream?channel=` and offers
 * each change. The event id (a ledger position) is stored with the counts in one write, and a
 * reconnect sends it as Last-Event-ID, so the ledger resends exactly what came after. A full resync
 * from `GET /v1/channels/:channel/availability` runs at start (once the stream is open, so nothing
 * falls between them) and whenever the stream says `resync` (the changes after our id were pruned).
 */
export class SseAvailabilitySource {
  readonly stats: SseSourceStats = { events: 0, connects: 0, resyncs: 0, lastEventId: null };
  private readonly logger: LoggerService;
  private readonly fetch: typeof fetch;
  private readonly cursorName: string;
  private abort: AbortController | null = null;
  private running: Promise<void> | null = null;
  private stopping = false;
  private resyncing: Promise<void> | null = null;
  private connectedOnce: (() => void) | null = null;

  constructor(private readonly options: SseSourceOptions) {
    this.logger = options.logger ?? new Logger(`SseSource:${options.sync.channel}`);
    this.fetch = options.fetch ?? globalThis.fetch;
    this.cursorName = `sse:${options.sync.channel}`;
  }

  /** Resolves once the stream is open and the start-up resync is done. */
  async start(): Promise<void> {
    if (this.running) return;
    this.stopping = false;
    const connected = new Promise<void>((resolve) => (this.connectedOnce = resolve));
    this.running = this.loop();
    await connected;
    await this.resync('start');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.abort?.abort();
    await this.running;
    await this.resyncing?.catch(() => undefined);
    this.running = null;
  }

  /** A full resync (also on demand); concurrent calls share one run. */
  resync(reason: string): Promise<void> {
    if (!this.resyncing) {
      this.resyncing = (async () => {
        try {
          const read = await resyncFromLedger(this.options.sync, this.options.ledger);
          this.stats.resyncs += 1;
          this.logger.log(`resync of ${this.options.sync.channel} (${reason}): ${read} counts read`);
        } finally {
          this.resyncing = null;
        }
      })();
    }
    return this.resyncing;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      let waitMs: number | null = null;
      try {
        waitMs = await this.follow();
        failures = 0;
      } catch (error) {
        if (this.stopping) break;
        failures += 1;
        waitMs = (error as { retryAfterMs?: number | null }).retryAfterMs ?? null;
        this.logger.warn(`availability stream: ${(error as Error).message}`);
      }
      if (this.stopping) break;
      const backoff = this.options.backoff ?? { initialMs: 500, maxMs: 30_000 };
      await delay(waitMs ?? backoffDelay(Math.max(1, failures), backoff)).catch(() => undefined);
    }
  }

  /** One connection: reads until the ledger closes it. Returns a pause the server asked for, if any. */
  private async follow(): Promise<number | null> {
    const { sync } = this.options;
    const url = new URL('v1/availability/stream', this.options.baseUrl.endsWith('/') ? this.options.baseUrl : `${this.options.baseUrl}/`);
    url.searchParams.set('channel', sync.channel);
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (this.options.token) headers.Authorization = `Bearer ${this.options.token}`;
    const lastEventId = sync.store.cursor(this.cursorName);
    if (lastEventId) headers['Last-Event-ID'] = lastEventId;
    this.abort = new AbortController();
    const response = await this.fetch(url, { headers, signal: this.abort.signal });
    if (response.status === 429 || response.status === 503) {
      await response.body?.cancel();
      throw Object.assign(new Error(`stream answered ${response.status}`), { retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) });
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new Error(`stream answered ${response.status}`);
    }
    this.stats.connects += 1;
    this.connectedOnce?.();
    this.connectedOnce = null;
    let batch: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (event) => batch.push(event) });
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return null;
        parser.feed(decoder.decode(value, { stream: true }));
        const events = batch;
        batch = [];
        this.apply(events);
      }
    } catch (error) {
      if (this.stopping) return null;
      throw error;
    } finally {
      reader.releaseLock();
    }
  }

  /** Offers the events of one chunk together, with the last id as the cursor, in one write. */
  private apply(events: EventSourceMessage[]): void {
    const { sync } = this.options;
    const updates = [];
    let lastId: string | null = null;
    for (const event of events) {
      if (event.event === 'resync') {
        void this.resync('the stream asked for it').catch((error: unknown) => this.logger.error(`resync failed: ${(error as Error).message}`));
        continue;
      }
      if (event.event === 'closed') {
        this.logger.warn(`the ledger closed the availability stream: ${event.data}`);
        continue;
      }
      if (event.event !== 'availability') continue;
      this.stats.events += 1;
      const update = parseUpdate(event.data, sync.channel);
      if (update) updates.push(update);
      if (event.id) lastId = event.id;
    }
    if (updates.length === 0 && lastId === null) return;
    sync.offer(updates, lastId === null ? undefined : { name: this.cursorName, value: lastId });
    if (lastId !== null) this.stats.lastEventId = lastId;
  }
}
