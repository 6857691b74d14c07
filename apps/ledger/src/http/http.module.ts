import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { Readiness } from '../health/readiness';
import { StoreReadiness } from '../health/store-readiness';
import { TokenGuard } from './auth/token.guard';
import { ChannelsController } from './controllers/channels.controller';
import { HealthController } from './controllers/health.controller';
import { MetricsController } from './controllers/metrics.controller';
import { ReservationsController } from './controllers/reservations.controller';
import { ReturnsController } from './controllers/returns.controller';
import { SkusController } from './controllers/skus.controller';
import { StockController } from './controllers/stock.controller';
import { ErrorFilter } from './errors/error.filter';
import { createValidationPipe } from './errors/validation';

/** The ops API: commands, reads, health and metrics, behind the token guard. */
@Module({
  controllers: [
    StockController,
    ReservationsController,
    ReturnsController,
    SkusController,
    ChannelsController,
    HealthController,
    MetricsController,
  ],
  providers: [
    Readiness,
    StoreReadiness,
    { provide: APP_GUARD, useClass: TokenGuard },
    { provide: APP_FILTER, useClass: ErrorFilter },
    { provide: APP_PIPE, useFactory: createValidationPipe },
  ],
  exports: [Readiness],
})
export class HttpModule {}
