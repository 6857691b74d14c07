import { Global, Inject, Injectable, Module, OnApplicationShutdown, type DynamicModule, type FactoryProvider, type Provider } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { EVENT_STORE, createEventStore, type EventStore } from '@ledger/event-store';
import { CLOCK, LEDGER_CONFIG, MetricsService, Readiness, systemClock, type Clock, type LedgerConfig } from '@ledger/platform';
import { ChannelDirectory } from './channel-directory';
import { EXPIRED_HOLDS_SOURCE, ExpirySweeper, type ExpiredHoldsSource } from './expiry-sweeper';
import { CommandHandlers } from './handlers';
import { SkuCommandRunner } from './sku-command-runner';
import { SkuLedger } from './sku-ledger';

export interface LedgerCoreOptions {
  config: LedgerConfig;
  clock?: Clock;
  /** A store made by the caller (tests, tools); by default the one the configuration names. */
  eventStore?: EventStore;
  /**
   * Where the expiry sweeper learns which SKUs hold expired reservations (a read model, wired by the
   * app); without it there is no sweeper and holds past their time are released lazily by the next sale.
   */
  expiredHolds?: Omit<FactoryProvider<ExpiredHoldsSource>, 'provide'>;
}

/** Closes the store last, after everything that reads or writes it has stopped. */
@Injectable()
class EventStoreLifecycle implements OnApplicationShutdown {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

/** The write side: config, clock, metrics, the event store, the command handlers and the expiry sweeper. */
@Global()
@Module({})
export class LedgerCoreModule {
  static forRoot(options: LedgerCoreOptions): DynamicModule {
    const providers: Provider[] = [
      { provide: LEDGER_CONFIG, useValue: options.config },
      { provide: CLOCK, useValue: options.clock ?? systemClock },
      { provide: EVENT_STORE, useFactory: () => options.eventStore ?? createEventStore(options.config.eventStore) },
      EventStoreLifecycle,
      MetricsService,
      Readiness,
      SkuLedger,
      SkuCommandRunner,
      ChannelDirectory,
      ...CommandHandlers,
    ];
    if (options.expiredHolds) providers.push({ provide: EXPIRED_HOLDS_SOURCE, ...options.expiredHolds }, ExpirySweeper);
    return {
      module: LedgerCoreModule,
      imports: [CqrsModule.forRoot()],
      providers,
      exports: [LEDGER_CONFIG, CLOCK, EVENT_STORE, MetricsService, Readiness, SkuLedger, ChannelDirectory, CqrsModule],
    };
  }
}
