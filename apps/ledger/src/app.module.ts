import { Module, type DynamicModule } from '@nestjs/common';
import { LedgerCoreModule, type LedgerCoreOptions } from '@ledger/core';
import { ProjectionManager, ProjectionsModule } from '@ledger/projections';
import { MessagingModule } from '@ledger/relay';
import { HttpModule } from './http/http.module';
import { IntakeModule } from './intake/intake.module';
import { ObservabilityModule } from './observability/observability.module';

/** The sweeper's port (in the write side) answered by the reservations read model (in projections). */
const expiredHolds = {
  inject: [ProjectionManager],
  useFactory: (projections: ProjectionManager) => ({
    skusWithHoldsExpiredBy: async (now: number, limit: number) => projections.reservations().skusWithHoldsExpiredBy(now, limit),
  }),
};

@Module({})
export class AppModule {
  static forRoot(options: LedgerCoreOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [LedgerCoreModule.forRoot({ ...options, expiredHolds }), ProjectionsModule, MessagingModule, IntakeModule, HttpModule, ObservabilityModule],
    };
  }
}
