import { Global, Injectable, Module, OnModuleInit } from '@nestjs/common';
import { EXPIRED_HOLDS_SOURCE, ExpirySweeper, type ExpiredHoldsSource } from '@ledger/core';
import { Readiness } from '@ledger/platform';
import { ProjectionManager } from './projection-manager';

/** Not ready until every read model has caught up with the ledger since start. */
@Injectable()
class ProjectionsReadiness implements OnModuleInit {
  constructor(
    private readonly readiness: Readiness,
    private readonly projections: ProjectionManager,
  ) {}

  onModuleInit(): void {
    this.readiness.register({
      name: 'projections',
      check: async () => ({ ready: this.projections.ready, detail: { projections: await this.projections.status() } }),
    });
  }
}

@Global()
@Module({
  providers: [
    ProjectionManager,
    ProjectionsReadiness,
    ExpirySweeper,
    {
      provide: EXPIRED_HOLDS_SOURCE,
      inject: [ProjectionManager],
      useFactory: (projections: ProjectionManager): ExpiredHoldsSource => ({
        skusWithHoldsExpiredBy: async (now, limit) => projections.reservations().skusWithHoldsExpiredBy(now, limit),
      }),
    },
  ],
  exports: [ProjectionManager, ExpirySweeper],
})
export class ProjectionsModule {}
