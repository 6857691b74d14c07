import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ProjectionManager } from '@ledger/projections';
import { READ_ROLES, Roles } from '../auth/roles.decorator';
import { ConsistentReadDto, PageQueryDto } from '../dto';
import { ChannelParam, SkuParam } from '../id.pipe';
import { ReadConsistency } from '../read-consistency';

@ApiTags('availability')
@ApiBearerAuth()
@Controller('v1')
@Roles(...READ_ROLES)
export class AvailabilityController {
  constructor(
    private readonly projections: ProjectionManager,
    private readonly consistency: ReadConsistency,
  ) {}

  /** Each channel's available count for a SKU, with the SKU revision it reflects. */
  @Get('skus/:sku/availability')
  async forSku(@Param('sku', SkuParam) sku: string, @Query() query: ConsistentReadDto) {
    await this.consistency.atLeast('channel-availability', query.minPosition);
    const channels = this.projections.availability().forSku(sku).map(({ channel, available, revision, position, updatedAt }) => ({ channel, available, revision, position, updatedAt }));
    return { sku, channels };
  }

  /** One channel's counts for every SKU, paged by SKU: what a connector reads for a full resync. */
  @Get('channels/:channel/availability')
  async forChannel(@Param('channel', ChannelParam) channel: string, @Query() query: PageQueryDto) {
    await this.consistency.atLeast('channel-availability', query.minPosition);
    const limit = query.limit ?? 500;
    const cursor = query.cursor ?? '';
    const rows = this.projections.availability().forChannel(channel, cursor, limit + 1);
    const items = rows.slice(0, limit).map(({ sku, available, revision, position, updatedAt }) => ({ sku, available, revision, position, updatedAt }));
    return { channel, items, nextCursor: rows.length > limit ? items[items.length - 1].sku : null };
  }
}
