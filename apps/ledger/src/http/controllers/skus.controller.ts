import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ChannelDirectory, SkuLedger } from '@ledger/core';
import { channelAvailable, stockTotals } from '@ledger/domain';
import { READ_ROLES, Roles } from '../auth/roles.decorator';
import { ApiError } from '../../errors/api-error';
import { SkuParam } from '../id.pipe';

@ApiTags('skus')
@ApiBearerAuth()
@Controller('v1/skus/:sku')
@Roles(...READ_ROLES)
export class SkusController {
  constructor(
    private readonly ledger: SkuLedger,
    private readonly channels: ChannelDirectory,
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
}
