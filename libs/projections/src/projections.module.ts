import { Global, Injectable, Module, OnModuleInit } from '@nestjs/common';
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
  ],
  exports: [ProjectionManager],
})
export class ProjectionsModule {}
