import { Controller, Get, Inject, Logger, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { once } from 'node:events';
import {
  HistoryCheckpoints,
  chunked,
  movementReport,
  parseMoment,
  skuBalance,
  skuHistory,
  stockAsOf,
  stockCsv,
  stockJsonLines,
  verifyStore,
  type Moment,
} from '@ledger/audit';
import { skuStreamId } from '@ledger/domain';
import { EVENT_STORE, type EventStore } from '@ledger/event-store';
import { READ_ROLES, Roles } from '../auth/roles.decorator';
import {
  AuditBalanceQueryDto,
  AuditLedgerQueryDto,
  AuditMovementsQueryDto,
  AuditStockQueryDto,
  AuditVerifyQueryDto,
  fullEventType,
} from '../dto/audit-query.dto';
import { ApiError, validationFailed } from '../../errors/api-error';
import { SkuParam } from '../id.pipe';

/** Smaller pages inside the service: each page is one stretch the event loop spends on the auditor. */
const SERVICE_PAGE_SIZE = 1_000;

/**
 * The auditor's API: replayed balances, the ledger with running balances and who did what, movement
 * reports, stock as of any moment and hash-chain verification. Everything here reads the store
 * through the port (embedded or EventStoreDB alike); nothing changes state.
 */
@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1')
@Roles(...READ_ROLES)
export class AuditController {
  private readonly logger = new Logger(AuditController.name);
  /** Paging through a long ledger resumes from the last page's figures instead of folding from the start. */
  private readonly checkpoints = new HistoryCheckpoints();

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  /** The SKU replayed as of a moment (`at`) or a revision: every location, every channel configured then. */
  @Get('skus/:sku/balance')
  async balance(@Param('sku', SkuParam) sku: string, @Query() query: AuditBalanceQueryDto) {
    if (query.at !== undefined && query.revision !== undefined) {
      throw validationFailed([{ field: 'revision', problems: ['give at or revision, not both'] }]);
    }
    const at = moment(query.at);
    const { streamExists, ...balance } = await skuBalance(this.store, sku, { at, revision: query.revision ?? null });
    if (!streamExists) throw new ApiError(404, 'SKU_NOT_FOUND', `no stock has ever been recorded for ${sku}`);
    if (query.revision !== undefined && query.revision > balance.currentRevision) {
      throw new ApiError(404, 'REVISION_NOT_FOUND', `${sku} has no revision ${query.revision}; its last is ${balance.currentRevision}`, {
        currentRevision: balance.currentRevision,
      });
    }
    return balance;
  }

  /** The SKU's events in order, each with what it changed, the balance after it, and who did it. */
  @Get('skus/:sku/ledger')
  async ledger(@Param('sku', SkuParam) sku: string, @Query() query: AuditLedgerQueryDto) {
    const from = moment(query.from);
    const to = moment(query.to);
    if (from && to && to.ms < from.ms) throw validationFailed([{ field: 'to', problems: ['to must not be before from'] }]);
    const types = query.types?.map(fullEventType) ?? null;
    const page = { from, to, types, fromRevision: query.fromRevision ?? 0, limit: query.limit ?? 100 };
    return skuHistory(this.store, sku, page, { checkpoints: this.checkpoints });
  }

  /** Opening balance at `from`, receipts, sales, returns, write-offs, adjustments, closing at `to`. */
  @Get('skus/:sku/movements')
  async movements(@Param('sku', SkuParam) sku: string, @Query() query: AuditMovementsQueryDto) {
    const from = moment(query.from) as Moment;
    const to = moment(query.to) as Moment;
    if (to.ms < from.ms) throw validationFailed([{ field: 'to', problems: ['to must not be before from'] }]);
    const head = await this.store.readStream(skuStreamId(sku), { direction: 'backwards', maxCount: 1 });
    if (!head.streamExists) throw new ApiError(404, 'SKU_NOT_FOUND', `no stock has ever been recorded for ${sku}`);
    return movementReport(this.store, sku, from, to);
  }

  /** Stock of every SKU (or one location) as of a moment, streamed as CSV or JSON lines. */
  @Get('reports/stock')
  @ApiProduces('text/csv', 'application/x-ndjson')
  async stock(@Query() query: AuditStockQueryDto, @Res() reply: FastifyReply): Promise<void> {
    const at = moment(query.at);
    const format = query.format ?? 'csv';
    const rows = stockAsOf(this.store, { at, location: query.location ?? null, pageSize: SERVICE_PAGE_SIZE });
    const lines = chunked(format === 'csv' ? stockCsv(rows) : stockJsonLines(rows));
    const stamp = (at?.iso ?? new Date().toISOString()).replace(/[:.]/g, '-');
    const response = reply.raw;
    let closed = false;
    response.on('close', () => {
      closed = true;
    });
    // The answer is written here, on the raw response; until the first chunk a failure is still an
    // ordinary error answer.
    const start = () => {
      if (response.headersSent) return;
      reply.hijack();
      response.writeHead(200, {
        'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
        'Content-Disposition': `attachment; filename="stock-${stamp}.${format === 'csv' ? 'csv' : 'jsonl'}"`,
        'Cache-Control': 'no-store',
      });
    };
    try {
      for await (const chunk of lines) {
        if (closed) break;
        start();
        if (!response.write(chunk)) await Promise.race([once(response, 'drain'), once(response, 'close')]);
      }
      start();
      response.end();
    } catch (error) {
      this.logger.error(`stock report failed: ${(error as Error).message}`, (error as Error).stack);
      // Headers are out: cut the connection so a half report never passes for a whole one.
      if (response.headersSent) response.destroy(error as Error);
      else throw error;
    } finally {
      await lines.return(undefined);
    }
  }

  /** Recomputes hash chains and invariants: one SKU's stream, or every ledger stream. */
  @Get('audit/verify')
  async verify(@Query() query: AuditVerifyQueryDto) {
    if (query.sku) {
      const head = await this.store.readStream(skuStreamId(query.sku), { direction: 'backwards', maxCount: 1 });
      if (!head.streamExists) throw new ApiError(404, 'SKU_NOT_FOUND', `no stock has ever been recorded for ${query.sku}`);
    }
    return verifyStore(this.store, { sku: query.sku ?? null, pageSize: SERVICE_PAGE_SIZE });
  }
}

function moment(text: string | undefined): Moment | null {
  // The DTO already validated it; parse again for the value.
  return text === undefined ? null : parseMoment(text);
}
