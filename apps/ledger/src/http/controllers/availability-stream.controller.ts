import { Controller, Get, Headers, Query, Req, Res } from '@nestjs/common';
import { EventBus, ofType } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { AvailabilityChangedEvent, ProjectionManager, type AvailabilityChange } from '@ledger/projections';
import type { AuthenticatedRequest } from '../auth/token.guard';
import { READ_ROLES, Roles } from '../auth/roles.decorator';
import { AvailabilityStreamQueryDto } from '../dto';
import { ApiError, validationFailed } from '../../errors/api-error';

const MAX_STREAMS_PER_PRINCIPAL = 10;
const MAX_STREAMS = 1_000;
/** A client that lets this much pile up unread is dropped, so it cannot hold memory for everyone. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
const HEARTBEAT_MS = 15_000;

/**
 * Server-sent events: each change of a channel's count as it happens. The event id is the ledger
 * position, so a reconnect with Last-Event-ID resumes exactly after what the client saw.
 */
@ApiTags('availability')
@ApiBearerAuth()
@Controller('v1/availability')
@Roles(...READ_ROLES)
export class AvailabilityStreamController {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly projections: ProjectionManager,
    private readonly eventBus: EventBus,
  ) {}

  @Get('stream')
  stream(
    @Query() query: AvailabilityStreamQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): void {
    const after = this.resumePoint(query.after, lastEventId);
    const principal = (request as AuthenticatedRequest).principal?.name ?? 'local';
    this.admit(principal);
    const wanted = (change: AvailabilityChange) => (!query.channel || change.channel === query.channel) && (!query.sku || change.sku === query.sku);

    // The stream is written on the raw response, outside Fastify's reply cycle.
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    response.write(': availability stream\n\n');
    let backlogDone = false;
    let closed = false;
    const pendingLive: AvailabilityChange[] = [];
    const send = (change: AvailabilityChange) => {
      // A batch goes on after a slow client was dropped midway: a write after end would be an
      // unhandled 'error' on the response, which takes the whole process down.
      if (closed) return;
      response.write(`id: ${change.position}\nevent: availability\ndata: ${JSON.stringify(change)}\n\n`);
      if (!response.writableCorked && response.writableLength > MAX_BUFFERED_BYTES) close('slow client');
    };
    // Subscribe first and hold live changes until the backlog is out, so nothing falls between them.
    const live = this.eventBus.pipe(ofType(AvailabilityChangedEvent)).subscribe(({ changes }) => {
      const mine = changes.filter(wanted);
      if (!backlogDone) {
        pendingLive.push(...mine);
        return;
      }
      if (closed || mine.length === 0) return;
      // One batch, one write to the socket: a position's changes reach the client together.
      response.cork();
      for (const change of mine) send(change);
      response.uncork();
      if (!closed && response.writableLength > MAX_BUFFERED_BYTES) close('slow client');
    });
    const heartbeat = setInterval(() => !closed && response.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const close = (reason: string) => {
      if (closed) return;
      closed = true;
      live.unsubscribe();
      clearInterval(heartbeat);
      this.release(principal);
      // A slow client is cut off at once: ending politely would keep the megabyte it did not read
      // (and the goodbye queued behind it) in memory for as long as it keeps the connection open.
      if (reason === 'slow client') response.destroy();
      else if (reason !== 'client closed') response.end(`event: closed\ndata: ${JSON.stringify({ reason })}\n\n`);
    };
    request.raw.on('close', () => close('client closed'));
    response.on('error', () => close('client closed'));

    // Every change of one ledger position arrives in one live batch, so "after the backlog's last
    // position" splits backlog from live without losing or repeating a change.
    let backlogThrough = after ?? this.currentPosition();
    if (after !== null) backlogThrough = this.sendBacklog(after, wanted, send, response);
    backlogDone = true;
    for (const change of pendingLive.splice(0)) if (change.position > backlogThrough) send(change);
  }

  /** Sends stored changes after `after`; returns the last position sent. */
  private sendBacklog(after: number, wanted: (change: AvailabilityChange) => boolean, send: (change: AvailabilityChange) => void, response: ServerResponse): number {
    const changes = this.projections.availability().changesAfter(after);
    if (changes === null) {
      const reason = 'changes before this position were pruned; resync from GET /v1/channels/:channel/availability';
      response.write(`event: resync\ndata: ${JSON.stringify({ reason })}\n\n`);
      return this.currentPosition();
    }
    let through = after;
    for (const change of changes) {
      if (wanted(change)) send(change);
      through = change.position;
    }
    return through;
  }

  private resumePoint(after: number | undefined, lastEventId: string | undefined): number | null {
    if (after !== undefined) return after;
    if (lastEventId === undefined) return null;
    if (!/^\d{1,15}$/.test(lastEventId)) throw validationFailed([{ field: 'Last-Event-ID', problems: ['must be a ledger position this stream sent'] }]);
    return Number(lastEventId);
  }

  private currentPosition(): number {
    return this.projections.availability().lastChangePosition() ?? 0;
  }

  private admit(principal: string): void {
    const mine = this.open.get(principal) ?? 0;
    const total = [...this.open.values()].reduce((sum, count) => sum + count, 0);
    if (mine >= MAX_STREAMS_PER_PRINCIPAL || total >= MAX_STREAMS) {
      throw new ApiError(429, 'TOO_MANY_STREAMS', `at most ${MAX_STREAMS_PER_PRINCIPAL} availability streams per token`, {}, 5);
    }
    this.open.set(principal, mine + 1);
  }

  private release(principal: string): void {
    const left = (this.open.get(principal) ?? 1) - 1;
    if (left > 0) this.open.set(principal, left);
    else this.open.delete(principal);
  }
}
