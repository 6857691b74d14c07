import {
  ANY,
  ErrorType,
  isCommandError,
  jsonEvent,
  NO_STREAM,
  STREAM_EXISTS,
  WrongExpectedVersionError,
  type AppendExpectedRevision,
  type JSONEventData,
  type RecordedEvent as EsdbRecordedEvent,
} from '@eventstore/db-client';
import { EventStoreUnavailableError, WrongExpectedRevisionError } from '../errors';
import type { EventToAppend, ExpectedRevision, JsonObject, RecordedEvent } from '../event-store.port';
import type { WireEvent } from './esdb-filtered-read';

export function toEsdbExpected(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return BigInt(expected);
  }
}

/** The event id passes through untouched: the server recognises a retried append by it. */
export function toEventData(event: EventToAppend): JSONEventData {
  return jsonEvent({ id: event.id, type: event.type, data: event.data, metadata: event.metadata ?? {} });
}

export function fromClientEvent(event: EsdbRecordedEvent): RecordedEvent {
  return {
    id: event.id,
    type: event.type,
    streamId: event.streamId,
    revision: Number(event.revision),
    position: toPosition(event.position?.commit),
    data: asJsonObject(event.data),
    metadata: asJsonObject(event.metadata),
    recordedAt: event.created.toISOString(),
  };
}

export function fromWireEvent(event: WireEvent): RecordedEvent {
  return {
    id: event.id,
    type: event.type,
    streamId: event.streamId,
    revision: Number(event.revision),
    position: toPosition(event.position),
    data: asJsonObject(event.data),
    metadata: asJsonObject(event.metadata),
    // `created` is in .NET ticks (100 ns) since the Unix epoch.
    recordedAt: new Date(Number(event.created / 10_000n)).toISOString(),
  };
}

/**
 * The commit position, which is unique per event for ordinary appends. Servers before 22.6 leave it unset
 * (u64 max) on stream reads; that becomes -1 rather than a wrong number.
 */
export function toPosition(commit: bigint | undefined): number {
  return commit === undefined || commit > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(commit);
}

/** The ledger writes JSON objects; anything else (bytes, a scalar) is still handed over, wrapped. */
function asJsonObject(value: unknown): JsonObject {
  if (value instanceof Uint8Array) {
    if (value.length === 0) return {};
    try {
      value = JSON.parse(Buffer.from(value).toString('utf8'));
    } catch {
      return { bytes: Buffer.from(value as Uint8Array).toString('base64') };
    }
  }
  if (value === undefined || value === null) return {};
  return typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : { value };
}

/** Only a refused expected revision becomes the port's conflict; a lost server becomes "unavailable". */
export function toPortError(error: unknown, streamId: string, expected: ExpectedRevision): unknown {
  if (error instanceof WrongExpectedVersionError) {
    const actual = error.actualVersion === NO_STREAM ? -1 : Number(error.actualVersion);
    return new WrongExpectedRevisionError(streamId, expected, Number.isNaN(actual) ? null : actual);
  }
  return toUnavailable(error, `append to ${streamId}`);
}

export function toUnavailable(error: unknown, operation: string): unknown {
  if (!isUnavailable(error) || error instanceof EventStoreUnavailableError) return error;
  return new EventStoreUnavailableError(`EventStoreDB unavailable (${operation}): ${(error as Error).message}`, { cause: error });
}

const TRANSIENT: ReadonlySet<string> = new Set([
  ErrorType.UNAVAILABLE,
  ErrorType.CANCELLED, // the server cancelled the call, e.g. while shutting down
  ErrorType.DEADLINE_EXCEEDED,
  ErrorType.TIMEOUT, // the server's own write timeout
  ErrorType.NOT_LEADER, // the client reconnects to the leader; the next attempt can succeed
]);

/** gRPC status codes CANCELLED, DEADLINE_EXCEEDED and UNAVAILABLE. */
const TRANSIENT_GRPC_CODES: ReadonlySet<number> = new Set([1, 4, 14]);

/** Whether trying again later can help: the server or the way to it is gone, not the request at fault. */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof EventStoreUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  // Every gRPC failure reaches here converted by the client, so its type says it all.
  if (isCommandError(error)) return TRANSIENT.has(error.type);
  // The client's server-features probe lets raw gRPC errors through unconverted.
  if (TRANSIENT_GRPC_CODES.has((error as { code?: unknown }).code as number)) return true;
  return /^Failed to discover/.test(error.message); // a cluster none of whose nodes answered
}

/** Bounds a call the client would otherwise let run forever (reads have no deadline in client 6.x). */
export async function withTimeout<T>(work: Promise<T>, ms: number, operation: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new EventStoreUnavailableError(`EventStoreDB did not answer within ${ms} ms (${operation})`));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
