import { join } from 'node:path';
import { ConfigureChannelCommand, ReceiveStockCommand, ReserveStockCommand, type SkuLedger } from '@ledger/core';
import { EventTypes, skuStreamId } from '@ledger/domain';
import type { EventStore } from '@ledger/event-store';
import { coreLedger } from '../support/core-only';
import { auditStock, benchContext, quiesce, startLedger, storeKind, type RunningLedger } from '../support/ledger';
import {
  Latencies,
  RssSampler,
  closedLoop,
  cpuMeter,
  find,
  goal,
  measurement,
  now,
  profiled,
  RUN_TAG,
  round,
  settle,
  type Goal,
  type Measurement,
  type ScenarioOptions,
  type ScenarioResult,
} from '../support/measure';
import { INSTALL_HINT, idsKey, redisServerPath, reservingClient, startRedis, stockKey } from '../support/redis';
import { HOT_CHANNELS } from './hot-sku';

/** Deep enough that no reservation of any run is refused. */
export const DEEP_UNITS_PER_LOCATION = 5_000_000;
export const DEEP_CONCURRENCY = 512;
const WARMUP = 5_000;
export const LEDGER_LINE = 'ledger, CommandBus in process';
const CORE_LINE = 'write side alone (SkuLedger + store, no app)';
export const REDIS_LINE = 'Redis + Lua, one in-process client (AOF appendfsync always)';

/**
 * A flash sale with deep stock: one SKU, every reservation unique and accepted, 512 in flight from
 * four channels, through the CommandBus of the real app in this process (projections and relays
 * running). Then the same on the write side alone, and against Redis directly (one client, 512 in
 * flight, one Lua script per reservation): the anchor.
 */
export default async function run(options: ScenarioOptions): Promise<ScenarioResult> {
  const reservations = options.quick ? 20_000 : 100_000;
  const channels = Object.keys(HOT_CHANNELS);
  const sku = `DEEP-1-${RUN_TAG}`;
  const notes: string[] = [];
  const rss = new RssSampler().start();

  const running = await startLedger(join(options.workDir, 'ledger'), options.env);
  for (const [channel, locations] of Object.entries(HOT_CHANNELS)) {
    await running.bus.execute(new ConfigureChannelCommand(channel, locations, benchContext(`channel-${channel}`)));
  }
  await receiveDeep(running, `DEEP-WARMUP-${RUN_TAG}`);
  await deepSale(running, `DEEP-WARMUP-${RUN_TAG}`, channels, WARMUP, 'w');
  await receiveDeep(running, sku);
  await quiesce(running);
  await settle(200);
  rss.reset();
  let cpu = cpuMeter();
  const ledger = await profiled('deep-stock', () => deepSale(running, sku, channels, reservations, 'r'));
  const ledgerCpu = cpu();
  const ledgerRss = rss.peakMb;
  await quiesce(running);
  const stored = await storedHolds(running.store, sku);
  const audit = await auditStock(running.store);
  await running.close();

  const core = coreLedger(join(options.workDir, 'core'), options.env);
  await coreSale(core.ledger, `DEEP-WARMUP-${RUN_TAG}`, channels, WARMUP, 'w');
  await settle(100);
  cpu = cpuMeter();
  const coreOutcome = await coreSale(core.ledger, sku, channels, reservations, 'r');
  const coreCpu = cpu();
  const coreStored = await storedHolds(core.store, sku);
  await core.close();

  const lines: Measurement[] = [
    measurement({
      name: LEDGER_LINE,
      operations: reservations,
      seconds: ledger.seconds,
      unit: 'committed reservations/s',
      latencyMs: ledger.latencies.summary(),
      peakRssMb: ledgerRss,
      correctness: { accepted: ledger.accepted, refused: ledger.refused, oversold: audit.oversold, errors: ledger.errors },
      extra: { concurrency: DEEP_CONCURRENCY, cpuUsPerOp: round((ledgerCpu / reservations) * 1e6, 1), reservedEventsInStore: stored.reservedEvents, distinctReservationsInStore: stored.distinctReservations },
    }),
    measurement({
      name: CORE_LINE,
      operations: reservations,
      seconds: coreOutcome.seconds,
      unit: 'committed reservations/s',
      latencyMs: coreOutcome.latencies.summary(),
      peakRssMb: ledgerRss,
      correctness: { accepted: coreOutcome.accepted, refused: coreOutcome.refused, oversold: 0, errors: coreOutcome.errors },
      extra: { concurrency: DEEP_CONCURRENCY, cpuUsPerOp: round((coreCpu / reservations) * 1e6, 1), reservedEventsInStore: coreStored.reservedEvents, distinctReservationsInStore: coreStored.distinctReservations },
    }),
  ];
  const ratios: Record<string, number> = {};
  const redisBinary = redisServerPath();
  if (redisBinary) {
    const redisLine = await redisSale(redisBinary, join(options.workDir, 'redis'), sku, reservations);
    lines.push(redisLine);
    ratios['ledger / Redis, in process'] = round(lines[0].throughput / redisLine.throughput, 2);
  } else notes.push(INSTALL_HINT);
  rss.stop();
  return {
    scenario: 'deep-stock',
    quick: options.quick,
    store: storeKind(options.env),
    measurements: lines,
    ratios,
    goals: [],
    notes: [
      `${2 * DEEP_UNITS_PER_LOCATION} units on ${sku}; ${WARMUP} warm-up reservations on another SKU first (ledger and write side; Redis is warmed up on its own key).`,
      'Correctness: every acknowledged reservation is one stored StockReserved event with its own id (the ledger re-read after the run; for Redis, the id set and the counter).',
      ...notes,
    ],
  };
}

export function evaluate(result: ScenarioResult): Goal[] {
  const ledger = find(result, LEDGER_LINE);
  const goals = [
    goal('deep stock in process', '>= 50,000 committed reservations/s', `${ledger.throughput}/s`, ledger.throughput >= 50_000),
    goal('deep stock in process, ledger holds exactly what was acknowledged', 'every reservation acknowledged and stored once, 0 errors', describeHolds(ledger), holdsExactly(ledger)),
  ];
  const redis = result.measurements.find((line) => line.name === REDIS_LINE);
  if (redis) goals.push(goal('deep stock, Redis anchor holds exactly what was acknowledged', 'every reservation acknowledged and stored once', describeHolds(redis), holdsExactly(redis)));
  return goals;
}

export function holdsExactly(line: Measurement): boolean {
  const c = line.correctness;
  return !!c && c.accepted === line.operations && c.refused === 0 && c.errors === 0 && c.oversold === 0 && line.extra?.reservedEventsInStore === c.accepted && line.extra?.distinctReservationsInStore === c.accepted;
}

export function describeHolds(line: Measurement): string {
  const c = line.correctness;
  return `${c?.accepted} acknowledged of ${line.operations}, ${line.extra?.reservedEventsInStore} stored (${line.extra?.distinctReservationsInStore} distinct ids), ${c?.refused} refused, ${c?.errors} errors`;
}

interface SaleOutcome {
  seconds: number;
  accepted: number;
  refused: number;
  errors: number;
  latencies: Latencies;
}

async function receiveDeep(running: RunningLedger, sku: string): Promise<void> {
  let receipt = 0;
  for (const location of ['wh-east', 'wh-west']) {
    await running.bus.execute(
      new ReceiveStockCommand(sku, { receiptId: `rcpt-${++receipt}`, location, quantity: DEEP_UNITS_PER_LOCATION }, benchContext(`${sku}-rcpt-${receipt}`)),
    );
  }
}

async function deepSale(running: RunningLedger, sku: string, channels: string[], total: number, prefix: string): Promise<SaleOutcome> {
  const outcome: SaleOutcome = { seconds: 0, accepted: 0, refused: 0, errors: 0, latencies: new Latencies() };
  let firstError: unknown = null;
  outcome.seconds = await closedLoop(total, DEEP_CONCURRENCY, async (index) => {
    const started = now();
    try {
      await running.bus.execute(
        new ReserveStockCommand(sku, { reservationId: `${prefix}-${index}`, channel: channels[index % channels.length], quantity: 1 }, benchContext(`${sku}-${prefix}-${index}`)),
      );
      outcome.accepted++;
    } catch (error) {
      outcome.errors++;
      firstError ??= error;
    }
    outcome.latencies.add(now() - started);
  });
  if (firstError) console.error(`[deep-stock] ${outcome.errors} unexpected errors, first:`, firstError);
  return outcome;
}

async function coreSale(ledger: SkuLedger, sku: string, channels: string[], total: number, prefix: string): Promise<SaleOutcome> {
  for (const [index, location] of ['wh-east', 'wh-west'].entries()) {
    await ledger.execute(sku, { type: 'ReceiveStock', now: Date.now(), receiptId: `rcpt-${index}`, location, quantity: DEEP_UNITS_PER_LOCATION }, benchContext(`${sku}-rcpt-${index}`));
  }
  const outcome: SaleOutcome = { seconds: 0, accepted: 0, refused: 0, errors: 0, latencies: new Latencies() };
  outcome.seconds = await closedLoop(total, DEEP_CONCURRENCY, async (index) => {
    const started = now();
    const channel = channels[index % channels.length];
    try {
      await ledger.execute(
        sku,
        { type: 'ReserveStock', now: Date.now(), reservationId: `${prefix}-${index}`, channel, channelLocations: HOT_CHANNELS[channel], quantity: 1, ttlSeconds: 900 },
        benchContext(`${sku}-${prefix}-${index}`),
      );
      outcome.accepted++;
    } catch {
      outcome.errors++;
    }
    outcome.latencies.add(now() - started);
  });
  return outcome;
}

/** Stored StockReserved events of the SKU, and how many distinct reservation ids they carry. */
export async function storedHolds(store: EventStore, sku: string): Promise<{ reservedEvents: number; distinctReservations: number }> {
  const stream = await store.readStream(skuStreamId(sku));
  const holds = stream.events.filter((event) => event.type === EventTypes.StockReserved);
  return { reservedEvents: holds.length, distinctReservations: new Set(holds.map((event) => (event.data as { reservationId: string }).reservationId)).size };
}

async function redisSale(binary: string, dir: string, sku: string, total: number): Promise<Measurement> {
  const server = await startRedis(binary, dir);
  const client = reservingClient(server.port);
  try {
    const units = 2 * DEEP_UNITS_PER_LOCATION;
    await client.set(stockKey(`WARMUP-${sku}`), units);
    await client.set(stockKey(sku), units);
    await closedLoop(WARMUP, DEEP_CONCURRENCY, async (index) => void (await client.reserve(stockKey(`WARMUP-${sku}`), idsKey(`WARMUP-${sku}`), `w-${index}`, 1)));
    await settle(100);
    const redisCpuBefore = server.cpuSeconds();
    const cpu = cpuMeter();
    const outcome: SaleOutcome = { seconds: 0, accepted: 0, refused: 0, errors: 0, latencies: new Latencies() };
    outcome.seconds = await closedLoop(total, DEEP_CONCURRENCY, async (index) => {
      const started = now();
      try {
        const left = await client.reserve(stockKey(sku), idsKey(sku), `r-${index}`, 1);
        if (left >= 0) outcome.accepted++;
        else outcome.refused++;
      } catch {
        outcome.errors++;
      }
      outcome.latencies.add(now() - started);
    });
    const clientCpu = cpu();
    const redisCpu = server.cpuSeconds() - redisCpuBefore;
    const left = Number(await client.get(stockKey(sku)));
    const ids = await client.scard(idsKey(sku));
    return measurement({
      name: REDIS_LINE,
      operations: total,
      seconds: outcome.seconds,
      unit: 'committed reservations/s',
      latencyMs: outcome.latencies.summary(),
      // redis-server's own peak: this process still holds the heap of the ledger run before.
      peakRssMb: server.peakRssMb(),
      correctness: { accepted: outcome.accepted, refused: outcome.refused, oversold: Math.max(0, -left), errors: outcome.errors },
      extra: {
        concurrency: DEEP_CONCURRENCY,
        cpuUsPerOp: round(((clientCpu + redisCpu) / total) * 1e6, 1),
        redisServerCpuUsPerOp: round((redisCpu / total) * 1e6, 1),
        reservedEventsInStore: units - left,
        distinctReservationsInStore: ids,
      },
    });
  } finally {
    client.disconnect();
    await server.stop();
  }
}
