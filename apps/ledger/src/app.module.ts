import { Module, type DynamicModule } from '@nestjs/common';
import { LedgerCoreModule, type LedgerCoreOptions } from '@ledger/core';
import { ProjectionsModule } from '@ledger/projections';
import { MessagingModule } from '@ledger/relay';
import { HttpModule } from './http/http.module';
import { IntakeModule } from './intake/intake.module';

@Module({})
export class AppModule {
  static forRoot(options: LedgerCoreOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [LedgerCoreModule.forRoot(options), ProjectionsModule, MessagingModule, IntakeModule, HttpModule],
    };
  }
}
