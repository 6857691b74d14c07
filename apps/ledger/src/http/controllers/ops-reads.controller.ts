import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ProjectionManager } from '@ledger/projections';
import { CLOCK, type Clock } from '@ledger/platform';
import { Inject } from '@nestjs/common';
import { READ_ROLES, Roles } from '../auth/roles.decorator';
import { LocationStockQueryDto, ReservationsQueryDto, ReturnsQueryDto } from '../dto';
import { LocationParam } from '../id.pipe';
import { ReadConsistency } from '../read-consistency';

/** Ops lists served from the read models. */
@ApiTags('ops reads')
@ApiBearerAuth()
@Controller('v1')
@Roles(...READ_ROLES)
export class OpsReadsController {
  constructor(
    private readonly projections: ProjectionManager,
    private readonly consistency: ReadConsistency,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get('reservations')
  async reservations(@Query() query: ReservationsQueryDto) {
    await this.consistency.atLeast('reservations', query.minPosition);
    const { sku, channel, status, cursor } = query;
    return this.consistency.page(() => this.projections.reservations().list({ sku, channel, status, cursor, limit: query.limit ?? 100 }));
  }

  /** Returns with their age, oldest first: RTO units waiting on a shelf are stock nobody can sell. */
  @Get('returns')
  async returns(@Query() query: ReturnsQueryDto) {
    await this.consistency.atLeast('returns', query.minPosition);
    const { sku, status, cursor } = query;
    const page = this.consistency.page(() => this.projections.returns().list({ sku, status, cursor, limit: query.limit ?? 100 }));
    const now = this.clock.now();
    const items = page.items.map((item) => ({ ...item, ageSeconds: Math.max(0, Math.floor((now - Date.parse(item.receivedAt)) / 1000)) }));
    return { items, nextCursor: page.nextCursor };
  }

  @Get('locations/:location/stock')
  async locationStock(@Param('location', LocationParam) location: string, @Query() query: LocationStockQueryDto) {
    await this.consistency.atLeast('location-stock', query.minPosition);
    const limit = query.limit ?? 500;
    const rows = this.projections.locationStock().forLocation(location, { cursor: query.cursor, limit: limit + 1, maxAvailable: query.maxAvailable });
    const items = rows.slice(0, limit);
    return { location, items, nextCursor: rows.length > limit ? items[items.length - 1].sku : null };
  }
}
