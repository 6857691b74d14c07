import { Metadata, status, type sendUnaryData, type ServerDuplexStream, type ServerReadableStream, type ServerUnaryCall } from '@grpc/grpc-js';
import { AllStreamPosition, Empty } from '@eventstore/db-client/generated/shared_pb';
import {
  AppendReq,
  AppendResp,
  BatchAppendReq,
  BatchAppendResp,
  TombstoneReq,
  TombstoneResp,
} from '@eventstore/db-client/generated/streams_pb';
import { Empty as GoogleEmpty } from 'google-protobuf/google/protobuf/empty_pb';
import type { AppendOutcome, EventLog, Expected, ProposedEvent } from './event-log';
import {
  expectedFromOneof,
  invalidArgument,
  maxAppendSizeExceeded,
  missingMetadata,
  packedStatus,
  parseUuid,
  streamDeletedError,
  streamDeletedStatus,
  streamName,
  wrongExpectedVersionDetail,
} from './proto';

type Proposed = AppendReq.ProposedMessage | BatchAppendReq.ProposedMessage;

/** Streams.Append, Streams.BatchAppend and Streams.Tombstone, answered the way EventStoreDB answers them. */
export class AppendHandlers {
  constructor(
    private readonly log: EventLog,
    private readonly maxAppendSize: number,
  ) {}

  append = (call: ServerReadableStream<AppendReq, AppendResp>, callback: sendUnaryData<AppendResp>): void => {
    let options: AppendReq.Options | undefined;
    const events: ProposedEvent[] = [];
    let failed = false;
    call.on('data', (request: AppendReq) => {
      if (failed) return;
      try {
        if (!options) options = request.getOptions() ?? throwError(invalidArgument('the first message must carry the options'));
        else this.collect(events, [request.getProposedMessage() ?? throwError(invalidArgument('expected a proposed message'))]);
      } catch (error) {
        failed = true;
        callback(error as Error);
      }
    });
    call.on('end', () => {
      if (failed) return;
      if (!options) return callback(invalidArgument('no options were sent'));
      const name = streamName(options.getStreamIdentifier());
      const expected = expectedFromOneof(oneofName(options.getExpectedStreamRevisionCase()), options.getRevision());
      const outcome = this.log.append(name, expected, events);
      if (outcome.kind === 'stream_deleted') return callback(streamDeletedError(name));
      callback(null, appendResponse(outcome, expected));
    });
  };

  batchAppend = (call: ServerDuplexStream<BatchAppendReq, BatchAppendResp>): void => {
    // Requests of one append share a correlation id; only the first carries the options.
    const pending = new Map<string, { options: BatchAppendReq.Options; events: ProposedEvent[] }>();
    call.on('data', (request: BatchAppendReq) => {
      const correlation = request.getCorrelationId();
      const key = parseUuid(correlation);
      const reply = new BatchAppendResp().setCorrelationId(correlation);
      try {
        const options = request.getOptions();
        if (options) pending.set(key, { options, events: [] });
        const write = pending.get(key);
        if (!write) return;
        reply.setStreamIdentifier(write.options.getStreamIdentifier());
        this.collect(write.events, request.getProposedMessagesList());
        if (!request.getIsFinal()) return;
        pending.delete(key);
        const name = streamName(write.options.getStreamIdentifier());
        const expected = expectedFromOneof(oneofName(write.options.getExpectedStreamPositionCase()), write.options.getStreamPosition());
        call.write(batchResponse(reply, this.log.append(name, expected, write.events), expected, name));
      } catch (error) {
        pending.delete(key);
        const message = (error as Error).message;
        call.write(reply.setError(packedStatus(status.INVALID_ARGUMENT, message, new Empty(), 'event_store.client.BadRequest')));
      }
    });
    call.on('end', () => call.end());
  };

  tombstone = (call: ServerUnaryCall<TombstoneReq, TombstoneResp>, callback: sendUnaryData<TombstoneResp>): void => {
    const options = call.request.getOptions();
    if (!options) return callback(invalidArgument('options are required'));
    const name = streamName(options.getStreamIdentifier());
    const expected = expectedFromOneof(oneofName(options.getExpectedStreamRevisionCase()), options.getRevision());
    const outcome = this.log.tombstone(name, expected);
    if (outcome.kind === 'stream_deleted') return callback(streamDeletedError(name));
    if (outcome.kind === 'wrong_expected_version') {
      const metadata = new Metadata();
      metadata.set('exception', 'wrong-expected-version');
      metadata.set('stream-name', name);
      metadata.set('expected-version', expected.kind === 'revision' ? String(expected.revision) : '-1');
      if (outcome.current >= 0) metadata.set('actual-version', String(outcome.current));
      const details = `Delete failed due to WrongExpectedVersion. Stream: ${name}`;
      return callback(Object.assign(new Error(details), { code: status.FAILED_PRECONDITION, details, metadata }));
    }
    callback(null, new TombstoneResp().setNoPosition(new Empty()));
  };

  private collect(events: ProposedEvent[], messages: Proposed[]): void {
    for (const message of messages) {
      const metadata = message.getMetadataMap();
      const type = metadata.get('type') ?? throwError(missingMetadata('type'));
      const contentType = metadata.get('content-type') ?? throwError(missingMetadata('content-type'));
      events.push({ id: parseUuid(message.getId()), type, contentType, data: message.getData_asU8(), metadata: message.getCustomMetadata_asU8() });
    }
    const size = events.reduce((sum, event) => sum + event.data.length + event.metadata.length + event.type.length, 0);
    if (size > this.maxAppendSize) throw maxAppendSizeExceeded(this.maxAppendSize);
  }
}

function appendResponse(outcome: Exclude<AppendOutcome, { kind: 'stream_deleted' }>, expected: Expected): AppendResp {
  if (outcome.kind === 'success') {
    const success = new AppendResp.Success();
    if (outcome.revision < 0) success.setNoStream(new Empty());
    else success.setCurrentRevision(String(outcome.revision));
    if (outcome.position === null) success.setNoPosition(new Empty());
    else success.setPosition(new AppendResp.Position().setCommitPosition(String(outcome.position)).setPreparePosition(String(outcome.position)));
    return new AppendResp().setSuccess(success);
  }
  // Like the server: the current fields, plus the 20.6.0 ones that older clients read.
  const wrong = new AppendResp.WrongExpectedVersion();
  if (outcome.current < 0) wrong.setCurrentNoStream(new Empty()).setNoStream2060(new Empty());
  else wrong.setCurrentRevision(String(outcome.current)).setCurrentRevision2060(outcome.current);
  if (expected.kind === 'any') wrong.setExpectedAny(new Empty()).setAny2060(new Empty());
  if (expected.kind === 'stream_exists') wrong.setExpectedStreamExists(new Empty()).setStreamExists2060(new Empty());
  if (expected.kind === 'no_stream') wrong.setExpectedNoStream(new Empty());
  if (expected.kind === 'revision') wrong.setExpectedRevision(String(expected.revision)).setExpectedRevision2060(expected.revision);
  return new AppendResp().setWrongExpectedVersion(wrong);
}

function batchResponse(reply: BatchAppendResp, outcome: AppendOutcome, expected: Expected, name: string): BatchAppendResp {
  if (outcome.kind === 'stream_deleted') return reply.setError(streamDeletedStatus(name));
  if (outcome.kind === 'wrong_expected_version') {
    const detail = wrongExpectedVersionDetail(expected, outcome.current);
    return reply.setError(packedStatus(status.FAILED_PRECONDITION, 'Wrong expected version.', detail, 'event_store.client.WrongExpectedVersion'));
  }
  const success = new BatchAppendResp.Success();
  if (outcome.revision < 0) success.setNoStream(new GoogleEmpty());
  else success.setCurrentRevision(String(outcome.revision));
  if (outcome.position === null) success.setNoPosition(new GoogleEmpty());
  else success.setPosition(new AllStreamPosition().setCommitPosition(String(outcome.position)).setPreparePosition(String(outcome.position)));
  return reply.setSuccess(success);
}

/** The generated oneof cases are numbers; name them the way the log expects. */
function oneofName(revisionCase: number): 'revision' | 'no_stream' | 'any' | 'stream_exists' | 'unset' {
  return (['unset', 'unset', 'revision', 'no_stream', 'any', 'stream_exists'] as const)[revisionCase] ?? 'unset';
}

function throwError(error: Error): never {
  throw error;
}
