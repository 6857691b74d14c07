/**
 * An in-memory EventStoreDB for tests: a gRPC server on 127.0.0.1 built on the service definitions that
 * @eventstore/db-client ships, so the real client talks to it unchanged.
 *
 * EventStoreDB rules it implements (from the server's gRPC handlers and IndexWriter.CheckCommit):
 * - Append and BatchAppend with the expected revision: `no_stream` (the stream has no events), `any`,
 *   `stream_exists` (it has at least one) or an exact revision (its last event's revision). A refusal is
 *   WrongExpectedVersion carrying the stream's actual revision, or "no stream" when it has none (Append puts it
 *   in the response, BatchAppend in an error Status whose detail is event_store.client.WrongExpectedVersion).
 * - Idempotent appends: the same event ids retried at the same expected revision (or with `any` /
 *   `stream_exists`) are not written again; the answer is success with the revision of the retried batch's last
 *   event and, like 22.x+ servers, its log position (20.x gave none: `positionOnIdempotentAppend: false`). A retry
 *   that only partly matches what is stored is WrongExpectedVersion. The server's id cache is best effort; here
 *   every id is remembered.
 * - Required `type` and `content-type` metadata on every event; the maximum append size (1 MiB by default).
 * - Reads of a stream (forwards from a revision or the start, backwards from a revision or the end, with a
 *   count) and of $all (from the start, the end or a position; forwards includes the event at the position,
 *   backwards starts before it), with server-side filters on stream name or event type, by prefixes or regex.
 *   A missing stream answers with the StreamNotFound message; a tombstoned one with the stream-deleted error.
 * - Catch-up subscriptions to $all or a stream, from the start, the end or after a position or revision
 *   (exclusive): a confirmation, the stored events, a CaughtUp message (23.10+; `caughtUpMessages: false` for
 *   older servers), then live events. Filtered $all subscriptions send a checkpoint every
 *   `checkpointIntervalMultiplier × window` events scanned (window 32 unless a max is given).
 * - Every event is its own log record, so commit = prepare position; positions are byte offsets that only grow.
 *   $all holds system events: a new database starts with a few ($user-admin, $users, $scavenges); tests add
 *   more with `appendSystemEvent`.
 * - ServerFeatures.GetSupportedMethods lists what is implemented, which is how the client decides on BatchAppend.
 *
 * Not implemented: soft delete (Streams.Delete answers UNIMPLEMENTED), tombstone records in $all, stream
 * metadata ($maxAge, $tb, ACLs), link events and resolveLinkTos, projections, persistent subscriptions,
 * users and authentication (it runs like an insecure node), TLS, clusters and gossip, the invalid-position
 * check on $all reads, FellBehind messages and read deadlines.
 *
 * `stop()` closes the listener (open calls fail as in a crash) and keeps the data; `start()` listens again on the
 * same port: tests use the pair to simulate an outage.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { SupportedMethod, SupportedMethods } from '@eventstore/db-client/generated/serverfeatures_pb';
import { ServerFeaturesService } from '@eventstore/db-client/generated/serverfeatures_grpc_pb';
import { StreamsService } from '@eventstore/db-client/generated/streams_grpc_pb';
import { randomUUID } from 'node:crypto';
import { AppendHandlers } from './append';
import { EventLog, type StoredEvent } from './event-log';
import { readHandler } from './read';

export interface EsdbEmulatorOptions {
  /** Offer Streams.BatchAppend, as servers from 21.10 do (the client then appends through it). Default true. */
  batchAppend?: boolean;
  /** Send CaughtUp on subscriptions, as servers from 23.10 do. Default true. */
  caughtUpMessages?: boolean;
  /** Answer an idempotent retry with a position, as servers from 22.x do. Default true. */
  positionOnIdempotentAppend?: boolean;
  maxAppendSize?: number;
}

export class EsdbEmulator {
  readonly log: EventLog;
  private server: Server | null = null;
  private boundPort = 0;
  private readonly calls = new Map<string, number>();

  constructor(private readonly options: EsdbEmulatorOptions = {}) {
    this.log = new EventLog({ positionOnIdempotentAppend: options.positionOnIdempotentAppend ?? true });
    this.log.setMaxListeners(0);
    this.appendSystemEvent('$user-admin', '$User', { LoginName: 'admin', FullName: 'Event Store Administrator' });
    this.appendSystemEvent('$users', '$UserCreated', 'admin');
    this.appendSystemEvent('$scavenges', '$scavengeIndexInitialized', {});
  }

  static async start(options?: EsdbEmulatorOptions): Promise<EsdbEmulator> {
    const emulator = new EsdbEmulator(options);
    await emulator.start();
    return emulator;
  }

  get port(): number {
    return this.boundPort;
  }

  /** For the client: a single insecure node, with short timeouts so tests of an outage stay short. */
  get connectionString(): string {
    return `esdb://127.0.0.1:${this.boundPort}?tls=false&defaultDeadline=2000`;
  }

  get running(): boolean {
    return this.server !== null;
  }

  /** Listens on a random port the first time, and on the same port after a stop(). */
  async start(): Promise<void> {
    if (this.server) return;
    const server = new Server();
    const append = new AppendHandlers(this.log, this.options.maxAppendSize ?? 1_048_576);
    const batchAppend = this.options.batchAppend ?? true;
    server.addService(StreamsService, {
      read: this.counted('read', readHandler(this.log, { caughtUpMessages: this.options.caughtUpMessages ?? true })),
      append: this.counted('append', append.append),
      tombstone: this.counted('tombstone', append.tombstone),
      ...(batchAppend ? { batchAppend: this.counted('batchAppend', append.batchAppend) } : {}),
    });
    server.addService(ServerFeaturesService, {
      getSupportedMethods: (_call: unknown, callback: (error: null, value: SupportedMethods) => void) =>
        callback(null, supportedMethods(batchAppend)),
    });
    this.boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${this.boundPort}`, ServerCredentials.createInsecure(), (error, port) =>
        error ? reject(error) : resolve(port),
      ),
    );
    this.server = server;
  }

  /** Closes the listener and every open call, keeping the data (an outage, not a wipe). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    server?.forceShutdown();
  }

  /** How often each Streams method was called, e.g. to check which append path the client took. */
  callCount(method: 'read' | 'append' | 'batchAppend' | 'tombstone'): number {
    return this.calls.get(method) ?? 0;
  }

  private counted<Args extends unknown[]>(method: string, handler: (...args: Args) => void): (...args: Args) => void {
    return (...args) => {
      this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
      handler(...args);
    };
  }

  /** Writes an event the way the server writes its own, to a `$` stream; filters must keep it out. */
  appendSystemEvent(streamId = '$stats-127.0.0.1:2113', type = '$statsCollected', data: unknown = {}): StoredEvent {
    const event = {
      id: randomUUID(),
      type,
      contentType: 'application/json',
      data: Buffer.from(JSON.stringify(data)),
      metadata: new Uint8Array(),
    };
    this.log.append(streamId, { kind: 'any' }, [event]);
    return this.log.all.at(-1)!;
  }
}

function supportedMethods(batchAppend: boolean): SupportedMethods {
  const method = (service: string, name: string, features: string[] = []) =>
    new SupportedMethod().setServiceName(service).setMethodName(name).setFeaturesList(features);
  const streams = 'event_store.client.streams.streams';
  return new SupportedMethods().setEventStoreServerVersion('24.10.0').setMethodsList([
    method(streams, 'read', ['position', 'events']),
    method(streams, 'append'),
    method(streams, 'tombstone'),
    ...(batchAppend ? [method(streams, 'batchappend', ['deadline_duration'])] : []),
    method('event_store.client.server_features.serverfeatures', 'getsupportedmethods'),
  ]);
}
