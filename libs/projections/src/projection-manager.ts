import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EventBus } from '@nestjs/cqrs';
import type Database from 'better-sqlite3';
import { join } from 'node:path';
import { EVENT_STORE, type EventStore } from '@ledger/event-store';
import { LEDGER_CONFIG, MetricsService, type LedgerConfig } from '@ledger/platform';
import { AvailabilityChangedEvent } from './availability-changed.event';
import { tableNamesFor, type Projection, type TableNames } from './projection';
import { ProjectionRunner, type RunnerStatus } from './projection-runner';
import { openReadModelDb } from './read-model-db';
import { ChannelAvailabilityProjection, ChannelAvailabilityQueries } from './read-models/channel-availability.projection';
import { LocationStockProjection, LocationStockQueries } from './read-models/location-stock.projection';
import { ReservationsProjection, ReservationsQueries } from './read-models/reservations.projection';
import { ReturnsProjection, ReturnsQueries } from './read-models/returns.projection';

export type ProjectionName = 'channel-availability' | 'reservations' | 'returns' | 'location-stock';

interface Slot {
  generation: number;
  runner: ProjectionRunner;
  rebuilding: Promise<void> | null;
}

export interface ProjectionStatus extends RunnerStatus {
  lagEvents: number;
  lagMs: number;
  rebuilding: boolean;
}

const REBUILD_BATCH = 5_000;
const CHANGE_LOG_KEEP = 500_000;

/**
 * Runs every read model from the ledger, answers which generation of each is live, rebuilds one
 * from zero beside the live one and swaps it in, and lets reads wait for a ledger position.
 */
@Injectable()
export class ProjectionManager implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ProjectionManager.name);
  readonly db: Database.Database;
  private readonly slots = new Map<ProjectionName, Slot>();
  private pruneTimer: NodeJS.Timeout | null = null;
  private readonly changeLogFloors = new Set<() => number>();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LEDGER_CONFIG) config: LedgerConfig,
    private readonly metrics: MetricsService,
    private readonly eventBus: EventBus,
  ) {
    this.db = openReadModelDb(join(config.dataDir, 'projections.db'));
    for (const name of PROJECTION_NAMES) {
      const generation = this.activeGeneration(name);
      this.slots.set(name, { generation, runner: this.createRunner(name, generation, true), rebuilding: null });
    }
    this.registerMetrics();
  }

  onApplicationBootstrap(): void {
    for (const slot of this.slots.values()) slot.runner.start();
    this.pruneTimer = setInterval(() => this.pruneChangeLog(), 60_000);
    this.pruneTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await Promise.all([...this.slots.values()].map((slot) => slot.rebuilding?.catch(() => undefined)));
    await Promise.all([...this.slots.values()].map((slot) => slot.runner.stop()));
    if (this.db.open) this.db.close();
  }

  availability(): ChannelAvailabilityQueries {
    return new ChannelAvailabilityQueries(this.db, this.tables('channel-availability'));
  }

  reservations(): ReservationsQueries {
    return new ReservationsQueries(this.db, this.tables('reservations'));
  }

  returns(): ReturnsQueries {
    return new ReturnsQueries(this.db, this.tables('returns'));
  }

  locationStock(): LocationStockQueries {
    return new LocationStockQueries(this.db, this.tables('location-stock'));
  }

  /**
   * A reader of the availability change log (the Kafka relay) that must not lose changes after the
   * position `floor()` returns (its checkpoint; -1 for all of them). Returns the unregister call.
   */
  addChangeLogFloor(floor: () => number): () => void {
    this.changeLogFloors.add(floor);
    return () => this.changeLogFloors.delete(floor);
  }

  /** Keeps the newest `keep` changes, and every change after the lowest registered floor. */
  pruneChangeLog(keep = CHANGE_LOG_KEEP): void {
    if (!this.db.open) return;
    if (this.changeLogFloors.size > 0) {
      const floor = Math.min(...[...this.changeLogFloors].map((read) => read()));
      const changes = this.tables('channel-availability')('changes');
      const { count } = this.db.prepare(`SELECT COUNT(*) AS count FROM ${changes} WHERE position > ?`).get(floor) as { count: number };
      keep = Math.max(keep, count);
    }
    this.availability().pruneChanges(keep);
  }

  isProjection(name: string): name is ProjectionName {
    return (PROJECTION_NAMES as readonly string[]).includes(name);
  }

  /** Waits (bounded) until the projection has applied `position`; false when it did not in time. */
  waitForPosition(name: ProjectionName, position: number, timeoutMs: number): Promise<boolean> {
    return this.slot(name).runner.waitForPosition(position, timeoutMs);
  }

  /** True once every projection has caught up with the ledger since start and none has failed. */
  get ready(): boolean {
    return [...this.slots.values()].every((slot) => slot.runner.caughtUp);
  }

  async status(): Promise<ProjectionStatus[]> {
    const head = (await this.store.headPosition().catch(() => null)) ?? 0;
    return [...this.slots.values()].map((slot) => {
      const status = slot.runner.status();
      const behind = Math.max(0, head - (status.checkpoint ?? 0));
      const lagMs = behind > 0 && status.lastEventAt ? Math.max(0, Date.now() - Date.parse(status.lastEventAt)) : 0;
      return { ...status, lagEvents: behind, lagMs, rebuilding: slot.rebuilding !== null };
    });
  }

  /**
   * Rebuilds a projection from the first event into a new generation while the live one keeps
   * serving; when the new one has caught up it replaces the old, whose tables are dropped.
   */
  rebuild(name: ProjectionName): { started: boolean; done: Promise<void> } {
    const slot = this.slot(name);
    if (slot.rebuilding) return { started: false, done: slot.rebuilding };
    slot.rebuilding = this.runRebuild(name, slot).finally(() => (slot.rebuilding = null));
    return { started: true, done: slot.rebuilding };
  }

  private async runRebuild(name: ProjectionName, slot: Slot): Promise<void> {
    const generation = this.nextGeneration(name);
    this.logger.log(`rebuilding ${name} into generation ${generation}`);
    const builder = this.createRunner(name, generation, false, REBUILD_BATCH);
    builder.start();
    await builder.whenCaughtUp();
    await builder.stop();
    await slot.runner.stop();
    const old = slot.generation;
    const projection = createProjection(name);
    this.db.transaction(() => {
      this.db.prepare('UPDATE projection_checkpoints SET active = 0 WHERE name = ?').run(name);
      this.db.prepare('UPDATE projection_checkpoints SET active = 1 WHERE name = ? AND generation = ?').run(name, generation);
      for (const table of projection.tableNames(tableNamesFor(name, old))) this.db.exec(`DROP TABLE IF EXISTS ${table}`);
      this.db.prepare('DELETE FROM projection_checkpoints WHERE name = ? AND generation = ?').run(name, old);
      this.db.prepare('DELETE FROM projection_stream_revisions WHERE name = ? AND generation = ?').run(name, old);
    })();
    slot.generation = generation;
    slot.runner = this.createRunner(name, generation, true);
    slot.runner.start();
    this.logger.log(`${name} generation ${generation} is live`);
  }

  private createRunner(name: ProjectionName, generation: number, live: boolean, batchSize?: number): ProjectionRunner {
    const projection = createProjection(name, live ? (changes) => this.eventBus.publish(new AvailabilityChangedEvent(changes)) : undefined);
    this.db
      .prepare('INSERT OR IGNORE INTO projection_checkpoints (name, generation, position, active, updated_at) VALUES (?, ?, NULL, ?, ?)')
      .run(name, generation, live ? 1 : 0, new Date().toISOString());
    return new ProjectionRunner(projection, generation, this.db, this.store, {
      onApplied: (projectionName, count) => this.appliedCounter.inc({ projection: projectionName }, count),
      onFailed: (projectionName) => this.failureCounter.inc({ projection: projectionName }),
    }, batchSize);
  }

  private tables(name: ProjectionName): TableNames {
    return tableNamesFor(name, this.slot(name).generation);
  }

  private slot(name: ProjectionName): Slot {
    return this.slots.get(name) as Slot;
  }

  private activeGeneration(name: ProjectionName): number {
    const row = this.db.prepare('SELECT generation FROM projection_checkpoints WHERE name = ? AND active = 1').get(name) as { generation: number } | undefined;
    return row?.generation ?? 1;
  }

  private nextGeneration(name: ProjectionName): number {
    const row = this.db.prepare('SELECT MAX(generation) AS generation FROM projection_checkpoints WHERE name = ?').get(name) as { generation: number | null };
    // An abandoned rebuild (a crash mid-way) leaves its generation behind: drop it and start past it.
    const abandoned = this.db.prepare('SELECT generation FROM projection_checkpoints WHERE name = ? AND active = 0').all(name) as { generation: number }[];
    for (const { generation } of abandoned) {
      for (const table of createProjection(name).tableNames(tableNamesFor(name, generation))) this.db.exec(`DROP TABLE IF EXISTS ${table}`);
      this.db.prepare('DELETE FROM projection_stream_revisions WHERE name = ? AND generation = ?').run(name, generation);
    }
    this.db.prepare('DELETE FROM projection_checkpoints WHERE name = ? AND active = 0').run(name);
    return (row.generation ?? 0) + 1;
  }

  private get appliedCounter() {
    return this.metrics.counter('ledger_projection_events_applied_total', 'Ledger events applied, by projection', ['projection']);
  }

  private get failureCounter() {
    return this.metrics.counter('ledger_projection_failures_total', 'Projection batches that failed and stopped the projection', ['projection']);
  }

  private registerMetrics(): void {
    const manager = this;
    // At 0 from the start, so an alert on their increase also sees a projection stuck since start.
    for (const projection of PROJECTION_NAMES) {
      this.appliedCounter.inc({ projection }, 0);
      this.failureCounter.inc({ projection }, 0);
    }
    const lagEvents = this.metrics.gauge('ledger_projection_lag_events', 'Ledger events not yet applied, by projection', ['projection']);
    const lagSeconds = this.metrics.gauge('ledger_projection_lag_seconds', 'Age of the newest applied event while behind, by projection', ['projection']);
    const pendingUnits = this.metrics.gauge('ledger_rto_pending_units', 'Returned units waiting for inspection');
    const oldestAge = this.metrics.gauge('ledger_rto_oldest_pending_age_seconds', 'Age of the oldest return waiting for inspection');
    Object.assign(lagEvents, {
      async collect() {
        for (const status of await manager.status()) {
          lagEvents.set({ projection: status.name }, status.lagEvents);
          lagSeconds.set({ projection: status.name }, status.lagMs / 1000);
        }
      },
    });
    Object.assign(pendingUnits, {
      collect() {
        if (!manager.db.open) return;
        const { units, oldestReceivedAt } = manager.returns().pending();
        pendingUnits.set(units);
        oldestAge.set(oldestReceivedAt ? Math.max(0, (Date.now() - Date.parse(oldestReceivedAt)) / 1000) : 0);
      },
    });
  }
}

const PROJECTION_NAMES: readonly ProjectionName[] = ['channel-availability', 'reservations', 'returns', 'location-stock'];

function createProjection(name: ProjectionName, onChanges?: ConstructorParameters<typeof ChannelAvailabilityProjection>[0]): Projection {
  switch (name) {
    case 'channel-availability':
      return new ChannelAvailabilityProjection(onChanges);
    case 'reservations':
      return new ReservationsProjection();
    case 'returns':
      return new ReturnsProjection();
    case 'location-stock':
      return new LocationStockProjection();
  }
}
