import { join } from 'node:path';
import { ConfigureChannelCommand, ReceiveStockCommand, ReserveStockCommand, SkuLedger } from '@ledger/core';
import { DomainError, skuStreamId } from '@ledger/domain';
import { BareCounter } from '../support/bare-counter';
import { coreLedger } from '../support/core-only';
import { auditStock, benchContext, projectionsCaughtUp, quiesce, startLedger, storeKind, type RunningLedger } from '../support/ledger';
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
  type Correctness,
  type Goal,
  type ScenarioOptions,
  type ScenarioResult,
} from '../support/measure';

/** Four channels on two warehouses, as in the flash sale: two draw on both, two on one each. */
export const HOT_CHANNELS: Record<string, string[]> = {
  web: ['wh-east', 'wh-west'],
  app: ['wh-west', 'wh-east'],
  market: ['wh-east'],
  store: ['wh-west'],
};
export const HOT_STOCK: Record<string, number> = { 'wh-east': 500, 'wh-west': 500 };
export const HOT_UNITS = 1_000;
export const HOT_ATTEMPTS = 20_000;
export const HOT_CONCURRENCY = 512;
const WARMUP_ATTEMPTS = 4_000;
const LEDGER_LINE = 'ledger, CommandBus in process';
const HOT_SKU = `HOT-1-${RUN_TAG}`;
const WARMUP_SKU = `WARMUP-${RUN_TAG}`;
const CORE_LINE = 'write side alone (SkuLedger + store, no app)';

/**
 * A flash sale on one SKU through the CommandBus in this process: 1,000 units, 20,000 holds of one
 * unit from four channels with 512 in flight. Then the same attempts against the bare counter.
 */
export default async function run(options: ScenarioOptions): Promise<ScenarioResult> {
  const rss = new RssSampler().start();
  const running = await startLedger(join(options.workDir, 'ledger'), options.env);
  const channels = Object.keys(HOT_CHANNELS);
  for (const [channel, locations] of Object.entries(HOT_CHANNELS)) {
    await running.bus.execute(new ConfigureChannelCommand(channel, locations, benchContext(`channel-${channel}`)));
  }
  // Warm-up on another SKU so both sides are measured with optimised code.
  await flashSale(running, WARMUP_SKU, channels, WARMUP_ATTEMPTS, HOT_UNITS / 4);
  await quiesce(running);
  await settle(200);

  rss.reset();
  let cpu = cpuMeter();
  const ledger = await profiled('hot-sku', () => flashSale(running, HOT_SKU, channels, HOT_ATTEMPTS, HOT_UNITS));
  const ledgerCpu = cpu();
  const ledgerRss = rss.peakMb;
  await projectionsCaughtUp(running);
  const audit = await auditStock(running.store);
  const stream = await running.store.readStream(skuStreamId(HOT_SKU));
  const reservedInStore = stream.events.filter((event) => event.type === 'inventory.stock-reserved.v1').length;
  await running.close();

  const core = coreLedger(join(options.workDir, 'core'), options.env);
  await coreSale(core.ledger, WARMUP_SKU, channels, WARMUP_ATTEMPTS, HOT_UNITS / 4);
  await settle(100);
  cpu = cpuMeter();
  const coreOutcome = await coreSale(core.ledger, HOT_SKU, channels, HOT_ATTEMPTS, HOT_UNITS);
  const coreCpu = cpu();
  const coreAudit = await auditStock(core.store);
  await core.close();

  const baselineRunner = new BareCounter(options.workDir);
  baselineRunner.receive('WARMUP', HOT_UNITS / 4);
  await counterSale(baselineRunner, 'WARMUP', WARMUP_ATTEMPTS);
  await settle(200);
  rss.reset();
  baselineRunner.receive('HOT-1', HOT_UNITS);
  cpu = cpuMeter();
  const baseline = await counterSale(baselineRunner, 'HOT-1', HOT_ATTEMPTS);
  const baselineCpu = cpu();
  const baselineRss = rss.peakMb;
  const counterOversold = baselineRunner.oversold();
  baselineRunner.close();
  rss.stop();

  const oversold = Math.max(audit.oversold, Math.max(0, ledger.accepted - HOT_UNITS));
  const ledgerLine = measurement({
    name: LEDGER_LINE,
    operations: HOT_ATTEMPTS,
    seconds: ledger.seconds,
    unit: 'reservation attempts/s',
    latencyMs: ledger.latencies.summary(),
    peakRssMb: ledgerRss,
    correctness: { accepted: ledger.accepted, refused: ledger.refused, oversold, errors: ledger.errors },
    extra: { acceptedPerSecond: round(ledger.accepted / ledger.seconds), reservedEventsInStore: reservedInStore, concurrency: HOT_CONCURRENCY, cpuUsPerOp: round((ledgerCpu / HOT_ATTEMPTS) * 1e6, 1) },
  });
  const baselineLine = measurement({
    name: 'bare SQLite counter',
    operations: HOT_ATTEMPTS,
    seconds: baseline.seconds,
    unit: 'reservation attempts/s',
    latencyMs: baseline.latencies.summary(),
    peakRssMb: baselineRss,
    correctness: { accepted: baseline.accepted, refused: baseline.refused, oversold: counterOversold, errors: 0 },
    extra: { acceptedPerSecond: round(baseline.accepted / baseline.seconds), concurrency: HOT_CONCURRENCY, cpuUsPerOp: round((baselineCpu / HOT_ATTEMPTS) * 1e6, 1) },
  });
  const coreLine = measurement({
    name: CORE_LINE,
    operations: HOT_ATTEMPTS,
    seconds: coreOutcome.seconds,
    unit: 'reservation attempts/s',
    latencyMs: coreOutcome.latencies.summary(),
    peakRssMb: ledgerRss,
    correctness: { accepted: coreOutcome.accepted, refused: coreOutcome.refused, oversold: coreAudit.oversold, errors: coreOutcome.errors },
    extra: { concurrency: HOT_CONCURRENCY, cpuUsPerOp: round((coreCpu / HOT_ATTEMPTS) * 1e6, 1) },
  });
  return {
    scenario: 'hot-sku',
    quick: options.quick,
    store: storeKind(options.env),
    measurements: [ledgerLine, coreLine, baselineLine],
    ratios: { 'ledger / bare counter': round(ledgerLine.throughput / baselineLine.throughput, 2) },
    goals: [],
    notes: [
      `${WARMUP_ATTEMPTS} warm-up attempts on another SKU first, for both sides; the projections run live in the same process.`,
      `Ledger store audit: ${audit.events} events, ${reservedInStore} holds stored on ${HOT_SKU}, ${audit.oversold} units oversold.`,
    ],
  };
}

export function evaluate(result: ScenarioResult): Goal[] {
  const ledger = find(result, LEDGER_LINE);
  const ratio = result.ratios['ledger / bare counter'];
  const c = ledger.correctness as Correctness;
  const held = Number(ledger.extra?.reservedEventsInStore);
  return [
    goal('hot SKU in process', '>= 20,000 attempts/s', `${ledger.throughput}/s`, ledger.throughput >= 20_000),
    goal('hot SKU vs bare counter', '>= 1.0x', `${ratio}x`, ratio >= 1),
    goal(
      'hot SKU correctness',
      `0 oversold, exactly ${HOT_UNITS} held`,
      `${c.oversold} oversold, ${c.accepted} acknowledged, ${held} stored, ${c.errors} errors`,
      c.oversold === 0 && c.accepted === HOT_UNITS && held === HOT_UNITS && c.errors === 0,
    ),
  ];
}

interface SaleOutcome {
  seconds: number;
  accepted: number;
  refused: number;
  errors: number;
  latencies: Latencies;
}

async function flashSale(running: RunningLedger, sku: string, channels: string[], attempts: number, units: number): Promise<SaleOutcome> {
  let receipt = 0;
  const locations = Object.keys(HOT_STOCK);
  for (const location of locations) {
    const quantity = Math.round((HOT_STOCK[location] / HOT_UNITS) * units);
    await running.bus.execute(new ReceiveStockCommand(sku, { receiptId: `rcpt-${++receipt}`, location, quantity }, benchContext(`${sku}-rcpt-${receipt}`)));
  }
  const outcome: SaleOutcome = { seconds: 0, accepted: 0, refused: 0, errors: 0, latencies: new Latencies() };
  let firstError: unknown = null;
  outcome.seconds = await closedLoop(attempts, HOT_CONCURRENCY, async (index) => {
    const started = now();
    try {
      await running.bus.execute(
        new ReserveStockCommand(sku, { reservationId: `r-${index}`, channel: channels[index % channels.length], quantity: 1 }, benchContext(`${sku}-r-${index}`)),
      );
      outcome.accepted++;
    } catch (error) {
      if (error instanceof DomainError && error.code === 'INSUFFICIENT_STOCK') outcome.refused++;
      else {
        outcome.errors++;
        firstError ??= error;
      }
    }
    outcome.latencies.add(now() - started);
  });
  if (firstError) console.error(`[hot-sku] ${outcome.errors} unexpected errors, first:`, firstError);
  return outcome;
}

async function coreSale(ledger: SkuLedger, sku: string, channels: string[], attempts: number, units: number): Promise<SaleOutcome> {
  const at = Date.now();
  let receipt = 0;
  for (const [location, quantity] of Object.entries(HOT_STOCK)) {
    const id = `rcpt-${++receipt}`;
    await ledger.execute(sku, { type: 'ReceiveStock', now: at, receiptId: id, location, quantity: (quantity / HOT_UNITS) * units }, benchContext(`${sku}-${id}`));
  }
  const outcome: SaleOutcome = { seconds: 0, accepted: 0, refused: 0, errors: 0, latencies: new Latencies() };
  outcome.seconds = await closedLoop(attempts, HOT_CONCURRENCY, async (index) => {
    const started = now();
    const channel = channels[index % channels.length];
    try {
      await ledger.execute(
        sku,
        { type: 'ReserveStock', now: Date.now(), reservationId: `r-${index}`, channel, channelLocations: HOT_CHANNELS[channel], quantity: 1, ttlSeconds: 900 },
        benchContext(`${sku}-r-${index}`),
      );
      outcome.accepted++;
    } catch (error) {
      if (error instanceof DomainError && error.code === 'INSUFFICIENT_STOCK') outcome.refused++;
      else outcome.errors++;
    }
    outcome.latencies.add(now() - started);
  });
  return outcome;
}

async function counterSale(counter: BareCounter, sku: string, attempts: number): Promise<SaleOutcome> {
  const outcome: SaleOutcome = { seconds: 0, accepted: 0, refused: 0, errors: 0, latencies: new Latencies() };
  outcome.seconds = await closedLoop(attempts, HOT_CONCURRENCY, async () => {
    const started = now();
    // The request handler a counter service would have: async, one transaction per request.
    await Promise.resolve();
    if (counter.reserve(sku, 1)) outcome.accepted++;
    else outcome.refused++;
    outcome.latencies.add(now() - started);
  });
  return outcome;
}
