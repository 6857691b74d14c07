import type { CallOptions, Channel, Metadata } from '@grpc/grpc-js';
import { convertToCommandError, type EventStoreDBClient } from '@eventstore/db-client';
import { Empty } from '@eventstore/db-client/generated/shared_pb';
import { StreamsClient } from '@eventstore/db-client/generated/streams_grpc_pb';
import { ReadReq, ReadResp } from '@eventstore/db-client/generated/streams_pb';

/**
 * Client 6.x reads $all only unfiltered, although EventStoreDB has filtered $all reads in its protocol
 * (ReadReq.Options.filter, served since 20.6) and the client offers the filter on subscriptions. Without it a
 * read of the ledger's events would drag every system event over the wire. So this file sends the filtered read
 * itself, through the client's own channel: `execute` keeps the client's reconnection handling. Those members
 * are `protected` in 6.x; they are reached through one narrow view, checked at start, so an upgrade that
 * changes them fails loudly here rather than somewhere odd.
 */
interface ClientInternals {
  execute<T>(client: typeof StreamsClient, debugName: string, action: (client: StreamsClient) => Promise<T>): Promise<T>;
  callArguments(options: { deadline?: number }, callOptions?: CallOptions): [Metadata, CallOptions];
  getChannel(): Promise<Channel>;
}

export function clientInternals(client: EventStoreDBClient): ClientInternals {
  const internals = client as unknown as ClientInternals;
  for (const member of ['execute', 'callArguments', 'getChannel'] as const) {
    if (typeof internals[member] !== 'function') {
      throw new Error(`@eventstore/db-client no longer has ${member}(); esdb-filtered-read.ts needs updating`);
    }
  }
  return internals;
}

export interface FilteredReadRequest {
  /** A $all position (commit = prepare), or null for the start (the end, backwards). */
  from: number | null;
  direction: 'forwards' | 'backwards';
  maxCount: number;
  streamPrefixes: string[];
  deadlineMs: number;
}

/** An event as it came off the wire, before the adapter turns it into a RecordedEvent. */
export interface WireEvent {
  id: string;
  streamId: string;
  revision: bigint;
  position: bigint;
  type: string;
  contentType: string;
  created: bigint;
  data: Uint8Array;
  metadata: Uint8Array;
}

export function readAllFiltered(client: EventStoreDBClient, request: FilteredReadRequest): Promise<WireEvent[]> {
  const internals = clientInternals(client);
  return internals
    .execute(StreamsClient, 'readAllFiltered', (streams) => {
      const [metadata, callOptions] = internals.callArguments({}, { deadline: new Date(Date.now() + request.deadlineMs) });
      const call = streams.read(toReadReq(request), metadata, callOptions);
      const events: WireEvent[] = [];
      return new Promise<WireEvent[]>((resolve, reject) => {
        call.on('data', (response: ReadResp) => {
          const event = response.getEvent()?.getEvent();
          if (event) events.push(fromRecorded(event));
        });
        call.on('error', reject);
        call.on('end', () => resolve(events));
      });
    })
    .catch((error: Error) => {
      throw convertToCommandError(error);
    });
}

function toReadReq(request: FilteredReadRequest): ReadReq {
  const all = new ReadReq.Options.AllOptions();
  if (request.from === null) {
    if (request.direction === 'forwards') all.setStart(new Empty());
    else all.setEnd(new Empty());
  } else {
    const position = String(request.from);
    all.setPosition(new ReadReq.Options.Position().setCommitPosition(position).setPreparePosition(position));
  }
  const filter = new ReadReq.Options.FilterOptions()
    .setStreamIdentifier(new ReadReq.Options.FilterOptions.Expression().setPrefixList(request.streamPrefixes))
    .setCount(new Empty())
    .setCheckpointintervalmultiplier(1);
  const options = new ReadReq.Options()
    .setAll(all)
    .setReadDirection(request.direction === 'forwards' ? ReadReq.Options.ReadDirection.FORWARDS : ReadReq.Options.ReadDirection.BACKWARDS)
    .setResolveLinks(false)
    .setCount(String(request.maxCount))
    .setUuidOption(new ReadReq.Options.UUIDOption().setString(new Empty()))
    .setFilter(filter);
  return new ReadReq().setOptions(options);
}

function fromRecorded(event: ReadResp.ReadEvent.RecordedEvent): WireEvent {
  const metadata = event.getMetadataMap();
  return {
    id: event.getId()?.getString() ?? '',
    streamId: Buffer.from(event.getStreamIdentifier()?.getStreamName_asU8() ?? []).toString('utf8'),
    revision: BigInt(event.getStreamRevision()),
    position: BigInt(event.getCommitPosition()),
    type: metadata.get('type') ?? '',
    contentType: metadata.get('content-type') ?? 'application/octet-stream',
    created: BigInt(metadata.get('created') ?? 0),
    data: event.getData_asU8(),
    metadata: event.getCustomMetadata_asU8(),
  };
}
