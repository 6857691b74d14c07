import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { StoreReadiness } from '../health/store-readiness';
import { TokenGuard } from './auth/token.guard';
import { AvailabilityStreamController } from './controllers/availability-stream.controller';
import { AvailabilityController } from './controllers/availability.controller';
import { AuditController } from './controllers/audit.controller';
import { ChannelsController } from './controllers/channels.controller';
import { HealthController } from './controllers/health.controller';
import { MetricsController } from './controllers/metrics.controller';
import { OpsReadsController } from './controllers/ops-reads.controller';
import { ProjectionsAdminController } from './controllers/projections-admin.controller';
import { ReservationsController } from './controllers/reservations.controller';
import { ReturnsController } from './controllers/returns.controller';
import { SkusController } from './controllers/skus.controller';
import { StockController } from './controllers/stock.controller';
import { ErrorFilter } from './errors/error.filter';
import { createValidationPipe } from '../commands/validation-pipe';
import { ReadConsistency } from './read-consistency';

/** The ops API: commands, reads, health and metrics, behind the token guard. */
@Module({
  controllers: [
    StockController,
    ReservationsController,
    ReturnsController,
    SkusController,
    AuditController,
    ChannelsController,
    AvailabilityController,
    AvailabilityStreamController,
    OpsReadsController,
    ProjectionsAdminController,
    HealthController,
    MetricsController,
  ],
  providers: [
    StoreReadiness,
    ReadConsistency,
    { provide: APP_GUARD, useClass: TokenGuard },
    { provide: APP_FILTER, useClass: ErrorFilter },
    { provide: APP_PIPE, useFactory: createValidationPipe },
  ],
})
export class HttpModule {}
