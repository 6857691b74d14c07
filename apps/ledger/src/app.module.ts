import { Module, type DynamicModule } from '@nestjs/common';
import { LedgerCoreModule, type LedgerCoreOptions } from '@ledger/core';
import { ProjectionsModule } from '@ledger/projections';
import { HttpModule } from './http/http.module';

@Module({})
export class AppModule {
  static forRoot(options: LedgerCoreOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [LedgerCoreModule.forRoot(options), ProjectionsModule, HttpModule],
    };
  }
}
