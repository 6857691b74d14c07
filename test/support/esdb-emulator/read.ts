import { randomUUID } from 'node:crypto';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { ReadReq, ReadResp } from '@eventstore/db-client/generated/streams_pb';
import type { EventLog, StoredEvent } from './event-log';
import { invalidArgument, readEvent, streamDeletedError, streamIdentifier, streamName } from './proto';

type ReadCall = ServerWritableStream<ReadReq, ReadResp>;
type Options = ReadReq.Options;

export interface ReadFeatures {
  /** EventStoreDB 23.10+ tells a subscription when it has caught up; older servers say nothing. */
  caughtUpMessages: boolean;
}

/** Streams.Read: stream and $all reads in both directions, and catch-up subscriptions that turn live. */
export function readHandler(log: EventLog, features: ReadFeatures) {
  return (call: ReadCall): void => {
    read(log, features, call).then(
      () => call.end(),
      (error: Error) => call.emit('error', error),
    );
  };
}

async function read(log: EventLog, features: ReadFeatures, call: ReadCall): Promise<void> {
  const options = call.request.getOptions();
  if (!options?.getUuidOption()) throw invalidArgument("'uuidOption' is a required argument");
  const send = (event: StoredEvent) => write(call, readEvent(event, options.getUuidOption()));
  if (options.hasSubscription()) return subscribe(log, features, call, options, send);
  const count = Number(options.getCount());
  const backwards = options.getReadDirection() === ReadReq.Options.ReadDirection.BACKWARDS;
  if (options.hasStream()) {
    const stream = options.getStream()!;
    const name = streamName(stream.getStreamIdentifier());
    if (log.isTombstoned(name)) throw streamDeletedError(name);
    const events = log.stream(name);
    if (!events) {
      const notFound = new ReadResp.StreamNotFound().setStreamIdentifier(streamIdentifier(name));
      return write(call, new ReadResp().setStreamNotFound(notFound));
    }
    const last = events.length - 1;
    const from = stream.hasEnd() ? (backwards ? last : last + 1) : stream.hasStart() ? 0 : Number(stream.getRevision());
    const slice = backwards ? events.slice(0, Math.min(from, last) + 1).reverse() : events.slice(from);
    for (const event of slice.slice(0, count)) await send(event);
    return;
  }
  const all = options.getAll()!;
  const matches = eventFilter(options);
  const position = Number(all.getPosition()?.getCommitPosition() ?? 0);
  // Forwards from a position includes the event there; backwards from it starts with the one before.
  let index = backwards
    ? all.hasStart() ? -1 : all.hasEnd() ? log.all.length - 1 : lastIndexBefore(log.all, position)
    : all.hasStart() ? 0 : all.hasEnd() ? log.all.length : lastIndexBefore(log.all, position) + 1;
  for (let sent = 0; sent < count && index >= 0 && index < log.all.length; index += backwards ? -1 : 1) {
    const event = log.all[index];
    if (matches && !matches(event)) continue;
    await send(event);
    sent += 1;
  }
}

async function subscribe(log: EventLog, features: ReadFeatures, call: ReadCall, options: Options, send: (e: StoredEvent) => Promise<void>) {
  const confirmation = new ReadResp.SubscriptionConfirmation().setSubscriptionId(randomUUID());
  await write(call, new ReadResp().setConfirmation(confirmation));
  const stream = options.getStream();
  const name = stream ? streamName(stream.getStreamIdentifier()) : null;
  if (name !== null && log.isTombstoned(name)) throw streamDeletedError(name);
  const source = (): StoredEvent[] => (name === null ? log.all : log.stream(name) ?? []);
  const all = options.getAll();
  // Subscriptions start after the given revision or position (exclusive).
  let cursor = stream
    ? stream.hasStart() ? 0 : stream.hasEnd() ? source().length : Number(stream.getRevision()) + 1
    : all?.hasStart() ? 0 : all?.hasEnd() ? log.all.length : lastIndexBefore(log.all, Number(all!.getPosition()!.getCommitPosition()) + 1) + 1;
  const matches = eventFilter(options);
  const filter = options.getFilter();
  const checkpointEvery = filter ? filter.getCheckpointintervalmultiplier() * (filter.hasMax() ? filter.getMax() : 32) : 0;
  let scanned = 0;
  let live = false;
  while (!isClosed(call)) {
    const events = source();
    if (cursor < events.length) {
      const event = events[cursor++];
      if (!matches || matches(event)) await send(event);
      if (checkpointEvery > 0 && ++scanned >= checkpointEvery) {
        scanned = 0;
        const checkpoint = new ReadResp.Checkpoint().setCommitPosition(String(event.position)).setPreparePosition(String(event.position));
        await write(call, new ReadResp().setCheckpoint(checkpoint));
      }
      continue;
    }
    if (!live) {
      live = true;
      if (features.caughtUpMessages) await write(call, new ReadResp().setCaughtUp(new ReadResp.CaughtUp()));
    }
    await nextAppendOrClose(log, call);
  }
}

/** Stream name or event type, by prefixes or a regular expression (unanchored, like .NET's Regex.IsMatch). */
function eventFilter(options: Options): ((event: StoredEvent) => boolean) | null {
  const filter = options.getFilter();
  if (!filter) return null;
  const expression = filter.getStreamIdentifier() ?? filter.getEventType();
  if (!expression) throw invalidArgument('a filter needs a stream identifier or an event type expression');
  const field = filter.hasStreamIdentifier() ? (event: StoredEvent) => event.streamId : (event: StoredEvent) => event.type;
  const regex = expression.getRegex() ? new RegExp(expression.getRegex()) : null;
  const prefixes = expression.getPrefixList();
  return (event) => (regex ? regex.test(field(event)) : prefixes.some((prefix) => field(event).startsWith(prefix)));
}

/** Index of the last event whose position is below `position`, -1 if none (binary search: $all is ordered). */
function lastIndexBefore(all: StoredEvent[], position: number): number {
  let low = 0;
  let high = all.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (all[middle].position < position) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

function isClosed(call: ReadCall): boolean {
  return call.cancelled || call.destroyed || call.writableEnded;
}

/** Writes with back-pressure: a slow reader holds the server back instead of filling its memory. */
function write(call: ReadCall, message: ReadResp): Promise<void> {
  if (isClosed(call) || call.write(message)) return Promise.resolve();
  return waitFor(call, [[call, 'drain']]);
}

function nextAppendOrClose(log: EventLog, call: ReadCall): Promise<void> {
  return waitFor(call, [[log, 'appended']]);
}

function waitFor(call: ReadCall, sources: Array<[NodeJS.EventEmitter, string]>): Promise<void> {
  const all: Array<[NodeJS.EventEmitter, string]> = [...sources, [call, 'cancelled'], [call, 'close'], [call, 'error']];
  return new Promise((resolve) => {
    const done = () => {
      for (const [emitter, event] of all) emitter.off(event, done);
      resolve();
    };
    for (const [emitter, event] of all) emitter.on(event, done);
  });
}
