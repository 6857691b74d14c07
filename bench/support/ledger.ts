import type { INestApplication } from '@nestjs/common';
import { CommandBus, EventBus } from '@nestjs/cqrs';
import type { AddressInfo } from 'node:net';
import { SkuLedger, type CommandContext } from '@ledger/core';
import { EventTypes, skuFromStreamId } from '@ledger/domain';
import { EVENT_STORE, type EventStore, type RecordedEvent } from '@ledger/event-store';
import { inventoryEvents } from '@ledger/ledger-model';
import { loadConfig, MetricsService, type LedgerConfig } from '@ledger/platform';
import { ProjectionManager } from '@ledger/projections';
import { AvailabilityRelay, LedgerRelay, type RelayStatus } from '@ledger/relay';
import { createApp } from '@app/ledger/bootstrap';

export interface RunningLedger {
  app: INestApplication;
  config: LedgerConfig;
  store: EventStore;
  bus: CommandBus;
  eventBus: EventBus;
  ledger: SkuLedger;
  projections: ProjectionManager;
  metrics: MetricsService;
  /** Set when started with `listen`. */
  url: string | null;
  close(): Promise<void>;
}

/** Environment the bench passes through to the app: which store, and nothing else from the shell. */
export function passThroughEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['EVENTSTORE_CONNECTION_STRING', 'KAFKA_BROKERS']) {
    const value = process.env[name];
    if (value) env[name] = value;
  }
  return env;
}

/**
 * The real app, as main.ts builds it (projections, sweeper, metrics and all), in this process. The
 * sweeper is set to an hour so it never runs mid-measurement.
 */
export async function startLedger(dataDir: string, env: Record<string, string>, { listen = false } = {}): Promise<RunningLedger> {
  const config = loadConfig({ LEDGER_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'error', LEDGER_SWEEP_INTERVAL_MS: '3600000', ...env });
  const app = await createApp({ config }, { logger: false });
  app.useLogger(['error']);
  let url: string | null = null;
  if (listen) {
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  } else {
    await app.init();
  }
  return {
    app,
    config,
    store: app.get<EventStore>(EVENT_STORE),
    bus: app.get(CommandBus),
    eventBus: app.get(EventBus),
    ledger: app.get(SkuLedger),
    projections: app.get(ProjectionManager),
    metrics: app.get(MetricsService),
    url,
    close: () => app.close(),
  };
}

export function storeKind(env: Record<string, string>): 'sqlite' | 'esdb' {
  return env.EVENTSTORE_CONNECTION_STRING ? 'esdb' : 'sqlite';
}

export function benchContext(id: string, correlationId = 'bench'): CommandContext {
  return { commandId: id, actor: 'bench', role: 'service', correlationId };
}

/** Resolves once every projection has applied the store's head. */
export async function projectionsCaughtUp(running: RunningLedger, timeoutMs = 120_000): Promise<void> {
  const head = await running.store.headPosition();
  if (head === null) return;
  for (const name of ['channel-availability', 'reservations', 'returns', 'location-stock'] as const) {
    if (!(await running.projections.waitForPosition(name, head, timeoutMs))) throw new Error(`${name} did not reach ${head} in ${timeoutMs} ms`);
  }
}

/**
 * Everything that runs behind the write side has caught up: the projections and the relays (the
 * ledger relay copies every event to the bus; on the in-process bus that also costs memory), so a
 * measurement that starts now is not sharing the event loop with a backlog.
 */
export async function quiesce(running: RunningLedger, timeoutMs = 600_000): Promise<void> {
  await projectionsCaughtUp(running, timeoutMs);
  const relays = [LedgerRelay, AvailabilityRelay].map((type) => {
    try {
      return running.app.get<{ status(): Promise<RelayStatus> }>(type, { strict: false });
    } catch {
      return null;
    }
  });
  const deadline = Date.now() + timeoutMs;
  for (const relay of relays) {
    while (relay) {
      const status = await relay.status();
      if (status.lagPositions === 0 || status.head === null) break;
      if (Date.now() > deadline) throw new Error(`relay ${status.name} still ${status.lagPositions} positions behind`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

export async function* wholeLedger(store: EventStore, pageSize = 5_000): AsyncGenerator<RecordedEvent[]> {
  let after: number | null = null;
  for (;;) {
    const page = await store.readAll({ after, maxCount: pageSize });
    if (page.length === 0) return;
    yield page;
    after = page[page.length - 1].position;
  }
}

export interface StockAudit {
  skus: number;
  events: number;
  received: number;
  reservedEvents: number;
  /** Units held or sold beyond the stock at their location, summed over locations: must be 0. */
  oversold: number;
}

/**
 * Reads the stored ledger back and does the unit arithmetic itself (not through the domain's
 * evolve), so a bug in the write side cannot hide an oversell from this check. Adjustments are not
 * part of the bench workloads and are not modelled here.
 */
export async function auditStock(store: EventStore): Promise<StockAudit> {
  const figures = new Map<string, { onHand: number; held: number }>();
  const at = (sku: string, location: string) => {
    const key = `${sku}\u0000${location}`;
    let entry = figures.get(key);
    if (!entry) figures.set(key, (entry = { onHand: 0, held: 0 }));
    return entry;
  };
  const skus = new Set<string>();
  let events = 0;
  let received = 0;
  let reservedEvents = 0;
  let worst = 0;
  for await (const page of wholeLedger(store)) {
    for (const recorded of page) {
      events++;
      const sku = skuFromStreamId(recorded.streamId);
      const event = sku === null ? null : inventoryEvents.decode(recorded);
      if (sku === null || !event) continue;
      skus.add(sku);
      const touched: { onHand: number; held: number }[] = [];
      switch (event.type) {
        case EventTypes.StockReceived:
          at(sku, event.data.location).onHand += event.data.quantity;
          received += event.data.quantity;
          break;
        case EventTypes.StockReserved:
          reservedEvents++;
          for (const { location, quantity } of event.data.allocations) touched.push(Object.assign(at(sku, location), { held: at(sku, location).held + quantity }));
          break;
        case EventTypes.ReservationCommitted:
          for (const { location, quantity } of event.data.allocations) {
            const entry = at(sku, location);
            entry.held -= quantity;
            entry.onHand -= quantity;
            touched.push(entry);
          }
          break;
        case EventTypes.ReservationReleased:
          for (const { location, quantity } of event.data.allocations) at(sku, location).held -= quantity;
          break;
        case EventTypes.StockSold:
          for (const { location, quantity } of event.data.allocations) touched.push(Object.assign(at(sku, location), { onHand: at(sku, location).onHand - quantity }));
          break;
        case EventTypes.ReturnInspected:
          at(sku, event.data.location).onHand += event.data.restockQuantity;
          break;
      }
      for (const entry of touched) worst = Math.max(worst, entry.held - entry.onHand, -entry.onHand);
    }
  }
  let oversold = 0;
  for (const entry of figures.values()) oversold += Math.max(0, entry.held - entry.onHand, -entry.onHand);
  return { skus: skus.size, events, received, reservedEvents, oversold: Math.max(oversold, worst) };
}
