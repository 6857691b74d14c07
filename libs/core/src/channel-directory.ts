import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import {
  CHANNELS_STREAM_ID,
  channelsDecider,
  initialChannelsState,
  type ChannelCommand,
  type ChannelEvent,
  type ChannelSetting,
  type ChannelsState,
} from '@ledger/domain';
import { EVENT_STORE, type EventStore } from '@ledger/event-store';
import { channelEvents } from '@ledger/ledger-model';
import type { CommandContext } from './command-context';
import { StreamCommandLoop } from './stream-command-loop';

/** One channel's locations: the ordered list, or null when the channel draws on every location. */
export type ChannelView = ChannelSetting;

const MAX_ATTEMPTS = 5;
/** Another instance may change a channel; re-reading this often bounds how stale our copy can be. */
const REFRESH_MS = 2_000;

/**
 * Which locations serve which channel: the channel decider on the stream command loop over its one
 * small stream, plus a copy of the settings that reservations read without queueing.
 */
@Injectable()
export class ChannelDirectory implements OnModuleInit {
  private readonly loop: StreamCommandLoop<ChannelCommand, ChannelEvent, ChannelsState, ChannelSetting>;
  private known: ChannelsState = initialChannelsState();
  private loadedAt = 0;
  private refreshing: Promise<void> | null = null;

  constructor(@Inject(EVENT_STORE) store: EventStore) {
    this.loop = new StreamCommandLoop(store, {
      decider: channelsDecider,
      codec: channelEvents,
      occurredAt: (command) => command.now,
      maxAttempts: MAX_ATTEMPTS,
    });
  }

  async onModuleInit(): Promise<void> {
    await this.refresh();
  }

  /** The channel's locations; null (every location) also for a channel never configured. */
  async locationsFor(channel: string): Promise<string[] | null> {
    await this.refreshIfStale();
    return this.known.get(channel) ?? null;
  }

  async list(): Promise<ChannelView[]> {
    await this.refreshIfStale();
    return [...this.known].map(([channel, locations]) => ({ channel, locations })).sort((a, b) => a.channel.localeCompare(b.channel));
  }

  async configure(channel: string, locations: string[] | null, context: CommandContext, now: number): Promise<{ view: ChannelView; position: number | null; changed: boolean }> {
    const outcome = await this.loop.execute(CHANNELS_STREAM_ID, { type: 'ConfigureChannel', channel, locations, now }, context);
    const view = this.loop.peek(CHANNELS_STREAM_ID);
    if (view) this.known = new Map(view.state);
    return { view: outcome.result, position: outcome.duplicate ? null : outcome.position, changed: !outcome.duplicate };
  }

  /** A failed refresh keeps the last known settings: a reservation must not fail on a stale cache. */
  private async refreshIfStale(): Promise<void> {
    if (Date.now() - this.loadedAt > REFRESH_MS) await this.refresh().catch(() => undefined);
  }

  /** Reloads the stream in turn with its commands; callers arriving meanwhile share the reload. */
  private refresh(): Promise<void> {
    this.refreshing ??= this.loop
      .read(CHANNELS_STREAM_ID, { fresh: true })
      .then(({ state }) => {
        this.known = new Map(state);
        this.loadedAt = Date.now();
      })
      .finally(() => (this.refreshing = null));
    return this.refreshing;
  }
}
