import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { GENESIS_HASH, envelope } from '@ledger/ledger-model';
import {
  CHANNELS_STREAM_ID,
  decideChannel,
  evolveChannels,
  initialChannelsState,
  type ChannelEvent,
  type ChannelsState,
} from '@ledger/domain';
import { EVENT_STORE, WrongExpectedRevisionError, type EventStore } from '@ledger/event-store';
import { ConcurrencyRetriesExhaustedError, type CommandContext } from './command-context';

export interface ChannelView {
  channel: string;
  /** The ordered locations, or null when the channel draws on every location. */
  locations: string[] | null;
}

const MAX_ATTEMPTS = 5;
/** Another instance may change a channel; re-reading this often bounds how stale our copy can be. */
const REFRESH_MS = 2_000;

/** Which locations serve which channel: a small stream of its own, read in full and kept in memory. */
@Injectable()
export class ChannelDirectory implements OnModuleInit {
  private state: ChannelsState = initialChannelsState();
  private revision = -1;
  private lastHash = GENESIS_HASH;
  private loadedAt = 0;

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async onModuleInit(): Promise<void> {
    await this.reload();
  }

  /** The channel's locations; null (every location) also for a channel never configured. */
  async locationsFor(channel: string): Promise<string[] | null> {
    await this.refreshIfStale();
    return this.state.get(channel) ?? null;
  }

  async list(): Promise<ChannelView[]> {
    await this.refreshIfStale();
    return [...this.state].map(([channel, locations]) => ({ channel, locations })).sort((a, b) => a.channel.localeCompare(b.channel));
  }

  async configure(channel: string, locations: string[] | null, context: CommandContext, now: number): Promise<{ view: ChannelView; position: number | null; changed: boolean }> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const events = decideChannel({ type: 'ConfigureChannel', channel, locations }, this.state);
      if (events.length === 0) return { view: { channel, locations: this.state.get(channel) ?? null }, position: null, changed: false };
      const wrapped = envelope(CHANNELS_STREAM_ID, events[0], context, now, this.lastHash);
      try {
        const expectedRevision = this.revision < 0 ? 'no_stream' : this.revision;
        const result = await this.store.appendToStream(CHANNELS_STREAM_ID, [wrapped], { expectedRevision });
        this.revision = result.nextExpectedRevision;
        this.lastHash = wrapped.metadata.hash as string;
        evolveChannels(this.state, events[0]);
        return { view: { channel, locations: this.state.get(channel) ?? null }, position: result.position, changed: true };
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        await this.reload();
      }
    }
    throw new ConcurrencyRetriesExhaustedError(CHANNELS_STREAM_ID, MAX_ATTEMPTS);
  }

  /** A failed refresh keeps the last known settings: a reservation must not fail on a stale cache. */
  private async refreshIfStale(): Promise<void> {
    if (Date.now() - this.loadedAt > REFRESH_MS) await this.reload().catch(() => undefined);
  }

  private async reload(): Promise<void> {
    const { events, currentRevision } = await this.store.readStream(CHANNELS_STREAM_ID);
    const state = initialChannelsState();
    for (const event of events) evolveChannels(state, event as unknown as ChannelEvent);
    this.state = state;
    this.revision = currentRevision;
    this.lastHash = (events[events.length - 1]?.metadata.hash as string | undefined) ?? GENESIS_HASH;
    this.loadedAt = Date.now();
  }
}
