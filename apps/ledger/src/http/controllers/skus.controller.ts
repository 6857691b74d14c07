import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ChannelDirectory, SkuLedger } from '@ledger/core';
import { channelAvailable, skuStreamId, stockTotals } from '@ledger/domain';
import { EVENT_STORE, type EventStore } from '@ledger/event-store';
import { READ_ROLES, Roles } from '../auth/roles.decorator';
import { LedgerQueryDto } from '../dto';
import { ApiError } from '../errors/api-error';
import { SkuParam } from '../id.pipe';

@ApiTags('skus')
@ApiBearerAuth()
@Controller('v1/skus/:sku')
@Roles(...READ_ROLES)
export class SkusController {
  constructor(
    private readonly ledger: SkuLedger,
    private readonly channels: ChannelDirectory,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  /** The SKU as the write side holds it: every location and every configured channel. */
  @Get()
  async get(@Param('sku', SkuParam) sku: string) {
    const { state, revision } = await this.ledger.read(sku);
    if (revision < 0) throw new ApiError(404, 'SKU_NOT_FOUND', `no stock has ever been recorded for ${sku}`);
    const { onHand, reserved, available, pendingInspection, shortfall, writtenOff } = stockTotals(state);
    const locations = Object.fromEntries(
      [...state.locations].map(([location, stock]) => [location, { ...stock, available: stock.onHand - stock.reserved }]),
    );
    const channels = Object.fromEntries(
      (await this.channels.list()).map(({ channel, locations: list }) => [channel, { available: channelAvailable(state, list) }]),
    );
    return { sku, revision, totals: { onHand, reserved, available, pendingInspection, shortfall, writtenOff }, locations, channels };
  }

  /** The SKU's events in order, with who made them. */
  @Get('ledger')
  async ledgerEntries(@Param('sku', SkuParam) sku: string, @Query() query: LedgerQueryDto) {
    const limit = query.limit ?? 100;
    const { events, currentRevision } = await this.store.readStream(skuStreamId(sku), { fromRevision: query.fromRevision ?? 0, maxCount: limit });
    const last = events[events.length - 1];
    return {
      sku,
      currentRevision,
      events: events.map(({ id, type, revision, position, recordedAt, data, metadata }) => ({ id, type, revision, position, recordedAt, data, metadata })),
      nextFromRevision: last && last.revision < currentRevision ? last.revision + 1 : null,
    };
  }
}
