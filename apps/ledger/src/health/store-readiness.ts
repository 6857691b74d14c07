import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '@ledger/event-store';
import { Readiness } from '@ledger/platform';

/** Not ready while the ledger store does not answer; recovers by itself when it does. */
@Injectable()
export class StoreReadiness implements OnModuleInit {
  constructor(
    private readonly readiness: Readiness,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  onModuleInit(): void {
    this.readiness.register({
      name: 'eventStore',
      check: async () => ({ ready: await this.store.ping() }),
    });
  }
}
