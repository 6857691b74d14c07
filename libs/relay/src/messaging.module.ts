import { Global, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { EventBus, ofType } from '@nestjs/cqrs';
import { MESSAGE_BUS } from '@ledger/bus';
import { EVENT_STORE, type EventStore } from '@ledger/event-store';
import { LEDGER_CONFIG, MetricsService, Readiness } from '@ledger/platform';
import { AvailabilityChangedEvent, ProjectionManager } from '@ledger/projections';
import { AvailabilityRelay } from './availability-relay';
import { LedgerRelay } from './ledger-relay';
import { createMessageBus, Messaging } from './messaging';
import { RelayCheckpointStore } from './relay-checkpoints';
import { RelayMetrics } from './relay-metrics';

/**
 * Starts both relays once the bus is connected, keeps the change log from being pruned past the
 * availability relay, exports their metrics, and reports readiness: ready while the bus is healthy,
 * with each relay's state and lag as detail (a stalled relay shows there and in the lag metrics; it
 * does not take the HTTP API out of service).
 */
@Injectable()
class RelayLifecycle implements OnModuleInit {
  constructor(
    private readonly messaging: Messaging,
    private readonly ledger: LedgerRelay,
    private readonly availability: AvailabilityRelay,
    private readonly projections: ProjectionManager,
    private readonly readiness: Readiness,
    private readonly metrics: RelayMetrics,
  ) {}

  onModuleInit(): void {
    this.projections.addChangeLogFloor(() => this.availability.pruneFloor());
    this.metrics.watchLag([this.ledger, this.availability]);
    this.readiness.register({
      name: 'messaging',
      check: async () => {
        const relays = await Promise.all([this.ledger.status(), this.availability.status()]);
        return {
          ready: this.messaging.bus.isHealthy(),
          detail: { bus: this.messaging.kind, connected: this.messaging.connectedNow, relays },
        };
      },
    });
    this.messaging.register({ name: 'ledger relay', stop: () => this.ledger.stop() });
    this.messaging.register({ name: 'availability relay', stop: () => this.availability.stop() });
    this.messaging.whenConnected(() => {
      this.ledger.start();
      this.availability.start();
    });
  }
}

/**
 * The message bus (MESSAGE_BUS: Kafka when KAFKA_BROKERS is set, else in-process) and the relays
 * out of the ledger: every event to `inventory.ledger.v1`, every availability change to
 * `inventory.availability.v1`. See libs/relay/README.md for the message formats and the contract
 * connectors rely on.
 */
@Global()
@Module({
  providers: [
    { provide: MESSAGE_BUS, inject: [LEDGER_CONFIG], useFactory: createMessageBus },
    Messaging,
    { provide: RelayMetrics, inject: [MetricsService], useFactory: (metrics: MetricsService) => new RelayMetrics(metrics) },
    { provide: RelayCheckpointStore, inject: [ProjectionManager], useFactory: (projections: ProjectionManager) => new RelayCheckpointStore(projections.db) },
    {
      provide: LedgerRelay,
      inject: [EVENT_STORE, Messaging, RelayCheckpointStore, RelayMetrics],
      useFactory: (store: EventStore, messaging: Messaging, checkpoints: RelayCheckpointStore, metrics: RelayMetrics) =>
        new LedgerRelay({ store, bus: messaging.bus, topic: messaging.topics.ledger, checkpoints, metrics }),
    },
    {
      provide: AvailabilityRelay,
      inject: [ProjectionManager, EventBus, Messaging, RelayCheckpointStore, RelayMetrics],
      useFactory: (projections: ProjectionManager, eventBus: EventBus, messaging: Messaging, checkpoints: RelayCheckpointStore, metrics: RelayMetrics) =>
        new AvailabilityRelay({
          changeLog: () => projections.availability(),
          bus: messaging.bus,
          topic: messaging.topics.availability,
          checkpoints,
          wakeups: eventBus.pipe(ofType(AvailabilityChangedEvent)),
          metrics,
        }),
    },
    RelayLifecycle,
  ],
  exports: [MESSAGE_BUS, Messaging, LedgerRelay, AvailabilityRelay, RelayCheckpointStore],
})
export class MessagingModule {}
