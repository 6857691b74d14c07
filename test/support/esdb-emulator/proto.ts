import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { StreamDeleted, StreamIdentifier, UUID, WrongExpectedVersion } from '@eventstore/db-client/generated/shared_pb';
import { Status } from '@eventstore/db-client/generated/status_pb';
import { ReadReq, ReadResp } from '@eventstore/db-client/generated/streams_pb';
import { Any } from 'google-protobuf/google/protobuf/any_pb';
import { Empty as GoogleEmpty } from 'google-protobuf/google/protobuf/empty_pb';
import type { Expected, StoredEvent } from './event-log';

/** Conversions between the log and the wire, shaped like EventStoreDB's own (Streams.Read.cs, RpcExceptions.cs). */

export function streamName(identifier: StreamIdentifier | undefined): string {
  return Buffer.from(identifier?.getStreamName_asU8() ?? new Uint8Array()).toString('utf8');
}

export function streamIdentifier(name: string): StreamIdentifier {
  return new StreamIdentifier().setStreamName(Buffer.from(name, 'utf8'));
}

/** Clients send ids as a string or as two signed 64-bit halves; both name the same UUID. */
export function parseUuid(uuid: UUID | undefined): string {
  if (!uuid) throw invalidArgument('an event id is required');
  const structured = uuid.getStructured();
  if (!structured) return uuid.getString().toLowerCase();
  const bytes = Buffer.alloc(16);
  bytes.writeBigInt64BE(BigInt(structured.getMostSignificantBits()), 0);
  bytes.writeBigInt64BE(BigInt(structured.getLeastSignificantBits()), 8);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function formatUuid(id: string, structured: boolean): UUID {
  if (!structured) return new UUID().setString(id);
  const bytes = Buffer.from(id.replace(/-/g, ''), 'hex');
  return new UUID().setStructured(
    new UUID.Structured()
      .setMostSignificantBits(bytes.readBigInt64BE(0).toString())
      .setLeastSignificantBits(bytes.readBigInt64BE(8).toString()),
  );
}

export function readEvent(event: StoredEvent, uuidOption: ReadReq.Options.UUIDOption | undefined): ReadResp {
  const recorded = new ReadResp.ReadEvent.RecordedEvent()
    .setId(formatUuid(event.id, uuidOption?.hasStructured() ?? false))
    .setStreamIdentifier(streamIdentifier(event.streamId))
    .setStreamRevision(String(event.revision))
    .setCommitPosition(String(event.position))
    .setPreparePosition(String(event.position))
    .setData(event.data)
    .setCustomMetadata(event.metadata);
  recorded.getMetadataMap().set('type', event.type).set('content-type', event.contentType).set('created', String(event.created));
  const readEvent = new ReadResp.ReadEvent().setEvent(recorded).setCommitPosition(String(event.position));
  return new ReadResp().setEvent(readEvent);
}

export function expectedFromOneof(
  revisionCase: 'revision' | 'no_stream' | 'any' | 'stream_exists' | 'unset',
  revision: string,
): Expected {
  switch (revisionCase) {
    case 'revision':
      return { kind: 'revision', revision: Number(revision) };
    case 'no_stream':
    case 'any':
    case 'stream_exists':
      return { kind: revisionCase };
    default:
      throw invalidArgument('an expected stream revision is required');
  }
}

/** The detail BatchAppend packs into its error Status; Append puts the same facts in its response. */
export function wrongExpectedVersionDetail(expected: Expected, current: number): WrongExpectedVersion {
  const detail = new WrongExpectedVersion();
  if (current < 0) detail.setCurrentNoStream(new GoogleEmpty());
  else detail.setCurrentStreamRevision(String(current));
  if (expected.kind === 'revision') detail.setExpectedStreamPosition(String(expected.revision));
  if (expected.kind === 'any') detail.setExpectedAny(new GoogleEmpty());
  if (expected.kind === 'stream_exists') detail.setExpectedStreamExists(new GoogleEmpty());
  if (expected.kind === 'no_stream') detail.setExpectedNoStream(new GoogleEmpty());
  return detail;
}

export function packedStatus(code: number, message: string, detail: { serializeBinary(): Uint8Array }, typeName: string): Status {
  const any = new Any();
  any.pack(detail.serializeBinary(), typeName);
  return new Status().setCode(code).setMessage(message).setDetails(any);
}

export function streamDeletedStatus(name: string): Status {
  const detail = new StreamDeleted().setStreamIdentifier(streamIdentifier(name));
  return packedStatus(status.FAILED_PRECONDITION, `Event stream '${name}' is deleted.`, detail, 'event_store.client.StreamDeleted');
}

function rpcError(code: status, details: string, entries: Record<string, string> = {}): ServiceError {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
  return Object.assign(new Error(details), { code, details, metadata });
}

export const streamDeletedError = (name: string): ServiceError =>
  rpcError(status.FAILED_PRECONDITION, `Event stream '${name}' is deleted.`, { exception: 'stream-deleted', 'stream-name': name });

export const invalidArgument = (details: string): ServiceError => rpcError(status.INVALID_ARGUMENT, details);

export const missingMetadata = (property: string): ServiceError =>
  rpcError(status.INVALID_ARGUMENT, `Required Metadata Property '${property}' is missing`, {
    exception: 'missing-required-metadata-property',
    'required-metadata-properties': 'type,content-type',
  });

export const maxAppendSizeExceeded = (max: number): ServiceError =>
  rpcError(status.INVALID_ARGUMENT, `Maximum Append Size of ${max} Exceeded.`, {
    exception: 'maximum-append-size-exceeded',
    'maximum-append-size': String(max),
  });
