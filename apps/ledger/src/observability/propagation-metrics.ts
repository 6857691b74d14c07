import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { EventBus, ofType } from '@nestjs/cqrs';
import type { Subscription } from 'rxjs';
import { CLOCK, MetricsService, type Clock } from '@ledger/platform';
import { AvailabilityChangedEvent } from '@ledger/projections';

/**
 * `ledger_availability_propagation_seconds`: for each ledger event that changed channel counts, the
 * time from the command's decision (its `occurredAt`, stamped by the same clock) to the availability
 * projection committing the new counts, which is when SSE, the relay and reads can see them. A
 * projection catching up after a restart shows here as the staleness it was.
 */
@Injectable()
export class PropagationMetrics implements OnModuleInit, OnModuleDestroy {
  private subscription: Subscription | null = null;

  constructor(
    private readonly eventBus: EventBus,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.subscription = this.eventBus.pipe(ofType(AvailabilityChangedEvent)).subscribe(({ changes }) => {
      const now = this.clock.now();
      const seen = new Set<number>();
      for (const change of changes) {
        if (seen.has(change.position)) continue;
        seen.add(change.position);
        const decided = Date.parse(change.updatedAt);
        if (Number.isFinite(decided) && now >= decided) this.metrics.availabilityPropagation.observe((now - decided) / 1000);
      }
    });
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }
}
