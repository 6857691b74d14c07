import { join } from 'node:path';
import {
  CommitReservationCommand,
  ConfigureChannelCommand,
  ReceiveStockCommand,
  ReleaseReservationCommand,
  ReserveStockCommand,
  type SkuLedger,
} from '@ledger/core';
import { DomainError } from '@ledger/domain';
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
  seededRandom,
  settle,
  type Correctness,
  type Goal,
  type ScenarioOptions,
  type ScenarioResult,
} from '../support/measure';
import { HOT_CHANNELS } from './hot-sku';

const CONCURRENCY = 256;
const STOCK_PER_SKU = 1_000;
const LEDGER_LINE = 'ledger, CommandBus in process';
const CORE_LINE = 'write side alone (SkuLedger + store, no app)';
const SETUP_LINE = 'ledger setup: first receipt of every SKU';
const BASELINE_LINE = 'bare SQLite counter';

type Operation =
  | { kind: 'reserve'; sku: string; id: string; channel: string; quantity: number }
  | { kind: 'commit' | 'release'; sku: string; id: string; quantity: number }
  | { kind: 'receive'; sku: string; id: string; location: string; quantity: number };

/**
 * A whole catalogue in motion: 10,000 SKUs (quick: 2,000), a uniform random mix of reserve / commit /
 * release / receive on random SKUs with 256 commands in flight, through the CommandBus. Commit and
 * release take a random acknowledged hold, so every command is one a real caller could send. Then the
 * same mix against the bare counter (fewer operations: it pays one fsync for each).
 */
export default async function run(options: ScenarioOptions): Promise<ScenarioResult> {
  const skus = options.quick ? 2_000 : 10_000;
  const commands = options.quick ? 10_000 : 50_000;
  const baselineCommands = options.quick ? 2_000 : 10_000;
  const rss = new RssSampler().start();
  const running = await startLedger(join(options.workDir, 'ledger'), options.env);
  const channels = Object.keys(HOT_CHANNELS);
  for (const [channel, locations] of Object.entries(HOT_CHANNELS)) {
    await running.bus.execute(new ConfigureChannelCommand(channel, locations, benchContext(`channel-${channel}`)));
  }
  const skuName = (index: number) => `CAT-${String(index).padStart(5, '0')}-${RUN_TAG}`;

  // Setup, measured too: creating 10,000 streams is work a catalogue import does.
  const setupLatencies = new Latencies();
  const setupSeconds = await closedLoop(skus, CONCURRENCY, async (index) => {
    const started = now();
    const location = index % 2 ? 'wh-east' : 'wh-west';
    await running.bus.execute(new ReceiveStockCommand(skuName(index), { receiptId: 'initial', location, quantity: STOCK_PER_SKU }, benchContext(`setup-${index}`)));
    setupLatencies.add(now() - started);
  });
  await quiesce(running);
  await settle(200);

  rss.reset();
  let cpu = cpuMeter();
  const ledger = await profiled('catalog', () => runMix(commands, skus, channels, skuName, (operation) => ledgerOperation(running, operation)));
  const ledgerCpu = cpu();
  const ledgerRss = rss.peakMb;
  await projectionsCaughtUp(running);
  const audit = await auditStock(running.store);
  await running.close();

  // The write side alone, same mix, for where the time goes.
  const core = coreLedger(join(options.workDir, 'core'), options.env);
  await closedLoop(skus, CONCURRENCY, async (index) => {
    const location = index % 2 ? 'wh-east' : 'wh-west';
    await core.ledger.execute(skuName(index), { type: 'ReceiveStock', now: Date.now(), receiptId: 'initial', location, quantity: STOCK_PER_SKU }, benchContext(`setup-${index}`));
  });
  cpu = cpuMeter();
  const coreMix = await profiled('catalog-core', () => runMix(commands, skus, channels, skuName, (operation) => coreOperation(core.ledger, operation)));
  const coreCpu = cpu();
  await core.close();

  const counter = new BareCounter(options.workDir);
  for (let index = 0; index < skus; index++) counter.receive(skuName(index), STOCK_PER_SKU);
  await settle(200);
  rss.reset();
  cpu = cpuMeter();
  const baseline = await runMix(baselineCommands, skus, channels, skuName, async (operation) => {
    await Promise.resolve();
    switch (operation.kind) {
      case 'reserve':
        return counter.reserve(operation.sku, operation.quantity);
      case 'commit':
        return counter.commit(operation.sku, operation.quantity);
      case 'release':
        return counter.release(operation.sku, operation.quantity);
      case 'receive':
        return counter.receive(operation.sku, operation.quantity);
    }
  });
  const baselineCpu = cpu();
  const baselineRss = rss.peakMb;
  const counterOversold = counter.oversold();
  counter.close();
  rss.stop();

  const ledgerLine = measurement({
    name: LEDGER_LINE,
    operations: commands,
    seconds: ledger.seconds,
    unit: 'commands/s',
    latencyMs: ledger.latencies.summary(),
    peakRssMb: ledgerRss,
    correctness: { accepted: ledger.accepted, refused: ledger.refused, oversold: audit.oversold, errors: ledger.errors },
    extra: { ...ledger.mix, skus, concurrency: CONCURRENCY, cpuUsPerOp: round((ledgerCpu / commands) * 1e6, 1) },
  });
  const coreLine = measurement({
    name: CORE_LINE,
    operations: commands,
    seconds: coreMix.seconds,
    unit: 'commands/s',
    latencyMs: coreMix.latencies.summary(),
    peakRssMb: ledgerRss,
    correctness: { accepted: coreMix.accepted, refused: coreMix.refused, oversold: 0, errors: coreMix.errors },
    extra: { cpuUsPerOp: round((coreCpu / commands) * 1e6, 1) },
  });
  const setupLine = measurement({
    name: SETUP_LINE,
    operations: skus,
    seconds: setupSeconds,
    unit: 'commands/s',
    latencyMs: setupLatencies.summary(),
    peakRssMb: ledgerRss,
    correctness: null,
  });
  const baselineLine = measurement({
    name: BASELINE_LINE,
    operations: baselineCommands,
    seconds: baseline.seconds,
    unit: 'commands/s',
    latencyMs: baseline.latencies.summary(),
    peakRssMb: baselineRss,
    correctness: { accepted: baseline.accepted, refused: baseline.refused, oversold: counterOversold, errors: 0 },
    extra: { ...baseline.mix, cpuUsPerOp: round((baselineCpu / baselineCommands) * 1e6, 1) },
  });
  return {
    scenario: 'catalog',
    quick: options.quick,
    store: storeKind(options.env),
    measurements: [ledgerLine, coreLine, setupLine, baselineLine],
    ratios: { 'ledger / bare counter': round(ledgerLine.throughput / baselineLine.throughput, 2) },
    goals: [],
    notes: [
      `Audit of the stored ledger: ${audit.events} events over ${audit.skus} SKUs, ${audit.oversold} units oversold.`,
      'The bare counter runs fewer operations (each is an fsync); its rate is what compares.',
    ],
  };
}

export function evaluate(result: ScenarioResult): Goal[] {
  const ledger = find(result, LEDGER_LINE);
  const c = ledger.correctness as Correctness;
  return [
    goal('catalog in process, full app', '>= 20,000 commands/s', `${ledger.throughput}/s`, ledger.throughput >= 20_000),
    goal('catalog correctness', '0 oversold, 0 errors', `${c.oversold} oversold, ${c.errors} errors`, c.oversold === 0 && c.errors === 0),
  ];
}

interface MixOutcome {
  seconds: number;
  accepted: number;
  refused: number;
  errors: number;
  latencies: Latencies;
  mix: Record<string, number>;
}

/**
 * Drives `total` operations: reserve / commit / release / receive each a quarter (commit and release
 * fall back to a reserve while no hold is waiting). `execute` resolves true (accepted) or false
 * (refused), or throws a DomainError for a refusal.
 */
async function runMix(
  total: number,
  skus: number,
  channels: string[],
  skuName: (index: number) => string,
  execute: (operation: Operation) => Promise<boolean>,
): Promise<MixOutcome> {
  const random = seededRandom(7);
  const held: { sku: string; id: string; quantity: number }[] = [];
  const outcome: MixOutcome = { seconds: 0, accepted: 0, refused: 0, errors: 0, latencies: new Latencies(), mix: { reserve: 0, commit: 0, release: 0, receive: 0 } };
  let firstError: unknown = null;
  const next = (index: number): Operation => {
    const roll = Math.floor(random() * 4);
    const sku = skuName(Math.floor(random() * skus));
    if ((roll === 1 || roll === 2) && held.length > 0) {
      const slot = Math.floor(random() * held.length);
      const hold = held[slot];
      held[slot] = held[held.length - 1];
      held.pop();
      return { kind: roll === 1 ? 'commit' : 'release', sku: hold.sku, id: hold.id, quantity: hold.quantity };
    }
    if (roll === 3) return { kind: 'receive', sku, id: `rcpt-${index}`, location: random() < 0.5 ? 'wh-east' : 'wh-west', quantity: 1 + Math.floor(random() * 10) };
    return { kind: 'reserve', sku, id: `res-${index}`, channel: channels[Math.floor(random() * channels.length)], quantity: 1 + Math.floor(random() * 3) };
  };
  outcome.seconds = await closedLoop(total, CONCURRENCY, async (index) => {
    const operation = next(index);
    outcome.mix[operation.kind]++;
    const started = now();
    try {
      if (await execute(operation)) {
        outcome.accepted++;
        if (operation.kind === 'reserve') held.push({ sku: operation.sku, id: operation.id, quantity: operation.quantity });
      } else outcome.refused++;
    } catch (error) {
      if (error instanceof DomainError) outcome.refused++;
      else {
        outcome.errors++;
        firstError ??= error;
      }
    }
    outcome.latencies.add(now() - started);
  });
  if (firstError) console.error(`[catalog] ${outcome.errors} unexpected errors, first:`, firstError);
  return outcome;
}

async function ledgerOperation(running: RunningLedger, operation: Operation): Promise<boolean> {
  const context = benchContext(`${operation.kind}-${operation.id}`);
  switch (operation.kind) {
    case 'reserve':
      await running.bus.execute(new ReserveStockCommand(operation.sku, { reservationId: operation.id, channel: operation.channel, quantity: operation.quantity }, context));
      return true;
    case 'commit':
      await running.bus.execute(new CommitReservationCommand(operation.sku, { reservationId: operation.id }, context));
      return true;
    case 'release':
      await running.bus.execute(new ReleaseReservationCommand(operation.sku, { reservationId: operation.id, reason: 'cancelled' }, context));
      return true;
    case 'receive':
      await running.bus.execute(new ReceiveStockCommand(operation.sku, { receiptId: operation.id, location: operation.location, quantity: operation.quantity }, context));
      return true;
  }
}

async function coreOperation(ledger: SkuLedger, operation: Operation): Promise<boolean> {
  const context = benchContext(`${operation.kind}-${operation.id}`);
  const at = Date.now();
  switch (operation.kind) {
    case 'reserve':
      await ledger.execute(
        operation.sku,
        { type: 'ReserveStock', now: at, reservationId: operation.id, channel: operation.channel, channelLocations: HOT_CHANNELS[operation.channel], quantity: operation.quantity, ttlSeconds: 900 },
        context,
      );
      return true;
    case 'commit':
      await ledger.execute(operation.sku, { type: 'CommitReservation', now: at, reservationId: operation.id }, context);
      return true;
    case 'release':
      await ledger.execute(operation.sku, { type: 'ReleaseReservation', now: at, reservationId: operation.id, reason: 'cancelled' }, context);
      return true;
    case 'receive':
      await ledger.execute(operation.sku, { type: 'ReceiveStock', now: at, receiptId: operation.id, location: operation.location, quantity: operation.quantity }, context);
      return true;
  }
}
