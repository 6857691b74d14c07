import { join } from 'node:path';
import { ConfigureChannelCommand, ReceiveStockCommand, ReserveStockCommand, type CommandOutcome } from '@ledger/core';
import { AvailabilityChangedEvent } from '@ledger/projections';
import { benchContext, projectionsCaughtUp, quiesce, startLedger, storeKind, type RunningLedger } from '../support/ledger';
import {
  Latencies,
  RssSampler,
  closedLoop,
  find,
  goal,
  measurement,
  now,
  profiled,
  RUN_TAG,
  seededRandom,
  settle,
  type Goal,
  type Measurement,
  type ScenarioOptions,
  type ScenarioResult,
} from '../support/measure';
import { HOT_CHANNELS } from './hot-sku';

/**
 * Where a changed count can be observed. `attach` starts watching and calls `seen(sku, position)`
 * whenever it observes a channel count of `sku` as of ledger `position` (or later); it returns the
 * function that stops watching.
 *
 * HOOK for the Kafka relay: add a probe that consumes `inventory.availability.v1` (messages keyed
 * `<channel>:<sku>`, carrying the ledger position) when KAFKA_BROKERS is set, and append it to
 * PROBES below. The scenario matches every acknowledged reservation against every probe and reports
 * p50/p95/p99 of acknowledgement -> seen per probe, one table line each.
 */
export interface PropagationProbe {
  name: string;
  /** False when the probe cannot run in this environment (e.g. no Kafka configured). */
  available(running: RunningLedger): boolean;
  attach(running: RunningLedger, seen: (sku: string, position: number) => void): Promise<() => Promise<void>>;
}

/** The availability projection's own signal: published on the CQRS EventBus right after its commit. */
const projectionProbe: PropagationProbe = {
  name: 'availability projection (EventBus)',
  available: () => true,
  async attach(running, seen) {
    const subscription = running.eventBus.subscribe((event) => {
      if (!(event instanceof AvailabilityChangedEvent)) return;
      for (const change of event.changes) seen(change.sku, change.position);
    });
    return async () => subscription.unsubscribe();
  },
};

export const PROBES: PropagationProbe[] = [projectionProbe];

const SKUS = 100;
const PACED_PER_SECOND = 1_000;
const CLOSED_CONCURRENCY = 16;

/**
 * Time from a reservation's acknowledgement to the changed channel count being observable, per
 * probe: paced at 1,000 reservations/s (a busy shop), then as fast as 16 callers can go.
 */
export default async function run(options: ScenarioOptions): Promise<ScenarioResult> {
  const reservations = options.quick ? 2_000 : 10_000;
  const rss = new RssSampler().start();
  const running = await startLedger(join(options.workDir, 'ledger'), options.env);
  for (const [channel, locations] of Object.entries(HOT_CHANNELS)) {
    await running.bus.execute(new ConfigureChannelCommand(channel, locations, benchContext(`channel-${channel}`)));
  }
  const sku = (index: number) => `PROP-${index}-${RUN_TAG}`;
  await closedLoop(SKUS * 2, 32, async (index) => {
    const location = index % 2 ? 'wh-east' : 'wh-west';
    await running.bus.execute(new ReceiveStockCommand(sku(index >> 1), { receiptId: `rcpt-${location}`, location, quantity: 10_000_000 }, benchContext(`setup-${index}`)));
  });
  await quiesce(running);
  await settle(200);

  // When each append became durable: the ledger answers its callers right after, so this is the
  // earliest moment anyone could be told. Bench-only instrumentation of the store the app uses.
  const committedAt = new Map<number, number>();
  const append = running.store.appendToStream.bind(running.store);
  running.store.appendToStream = async (...args) => {
    const result = await append(...args);
    committedAt.set(result.position, now());
    return result;
  };

  const probes = PROBES.filter((probe) => probe.available(running));
  const measurements: Measurement[] = [];
  for (const mode of ['paced', 'closed'] as const) {
    const fromCommit = probes.map((probe) => new Tracker(`commit -> ${probe.name}`));
    const fromAck = probes.map((probe) => new Tracker(`ack -> ${probe.name}`));
    const trackers = [...fromCommit, ...fromAck];
    const detach = await Promise.all(
      probes.map((probe, index) =>
        probe.attach(running, (s, position) => {
          fromCommit[index].seen(s, position);
          fromAck[index].seen(s, position);
        }),
      ),
    );
    rss.reset();
    const random = seededRandom(mode === 'paced' ? 11 : 13);
    const channels = Object.keys(HOT_CHANNELS);
    const reserve = async (index: number) => {
      const target = sku(Math.floor(random() * SKUS));
      const context = benchContext(`${mode}-${index}`);
      const outcome: CommandOutcome = await running.bus.execute(
        new ReserveStockCommand(target, { reservationId: `${mode}-${index}`, channel: channels[index % channels.length], quantity: 1 }, context),
      );
      const at = now();
      const position = outcome.position as number;
      for (const tracker of fromCommit) tracker.acknowledged(target, position, committedAt.get(position) ?? at);
      for (const tracker of fromAck) tracker.acknowledged(target, position, at);
    };
    const seconds = await profiled(`propagation-${mode}`, () => (mode === 'paced' ? paced(reservations, PACED_PER_SECOND, reserve) : closedLoop(reservations, CLOSED_CONCURRENCY, reserve)));
    await quiesce(running);
    await settle(100);
    await Promise.all(detach.map((stop) => stop()));
    for (const tracker of trackers) {
      measurements.push(
        measurement({
          name: `${tracker.name}, ${mode === 'paced' ? `paced ${PACED_PER_SECOND}/s` : `${CLOSED_CONCURRENCY} callers flat out`}`,
          operations: reservations,
          seconds,
          unit: 'reservations/s',
          latencyMs: tracker.latencies.summary(),
          peakRssMb: rss.peakMb,
          correctness: null,
          extra: { observed: tracker.latencies.count, neverSeen: tracker.outstanding(), seenBeforeAck: tracker.early },
        }),
      );
    }
  }
  await running.close();
  rss.stop();
  return {
    scenario: 'propagation',
    quick: options.quick,
    store: storeKind(options.env),
    measurements,
    ratios: {},
    goals: [],
    notes: [
      'commit -> : from the moment the append holding the reservation was durable (the ledger answers right after) to the first observation of a count of that SKU as of that position or later.',
      'ack -> : from the caller holding its answer (the CommandBus promise resolved); in process the projection usually commits before the answer has travelled back through the promise chain, which counts as 0 (seenBeforeAck).',
      `Probes: ${probes.map((probe) => probe.name).join('; ')}. Kafka: see the PropagationProbe hook in bench/scenarios/propagation.ts.`,
    ],
  };
}

export function evaluate(result: ScenarioResult): Goal[] {
  const line = find(result, result.measurements.find((m) => m.name.startsWith('commit -> availability') && m.name.includes('paced'))?.name ?? result.measurements[0].name);
  const p99 = line.latencyMs?.p99 ?? Infinity;
  const missing = Number(line.extra?.neverSeen ?? 0);
  return [goal('propagation commit -> availability projection p99 (paced)', '< 20 ms, none missing', `${p99} ms, ${missing} missing`, p99 < 20 && missing === 0)];
}

/**
 * Matches acknowledgements with observations per SKU by ledger position: the latency of one
 * reservation is the first observation of its SKU at its position or later, minus its start time
 * (0 when that observation came first).
 */
class Tracker {
  readonly latencies = new Latencies();
  early = 0;
  private readonly waiting = new Map<string, { position: number; at: number }[]>();
  /** Per SKU, observations with rising positions. */
  private readonly observed = new Map<string, { position: number; at: number }[]>();

  constructor(readonly name: string) {}

  acknowledged(sku: string, position: number, at: number): void {
    const first = this.firstObservation(sku, position);
    if (first) {
      if (first.at <= at) this.early++;
      this.latencies.add(Math.max(0, first.at - at));
      return;
    }
    let list = this.waiting.get(sku);
    if (!list) this.waiting.set(sku, (list = []));
    list.push({ position, at });
  }

  seen(sku: string, position: number): void {
    const at = now();
    let observations = this.observed.get(sku);
    if (!observations) this.observed.set(sku, (observations = []));
    if (observations.length === 0 || observations[observations.length - 1].position < position) observations.push({ position, at });
    const list = this.waiting.get(sku);
    if (!list || list.length === 0) return;
    const still: { position: number; at: number }[] = [];
    for (const entry of list) {
      if (entry.position <= position) this.latencies.add(at - entry.at);
      else still.push(entry);
    }
    this.waiting.set(sku, still);
  }

  outstanding(): number {
    let count = 0;
    for (const list of this.waiting.values()) count += list.length;
    return count;
  }

  private firstObservation(sku: string, position: number): { position: number; at: number } | undefined {
    const observations = this.observed.get(sku);
    if (!observations || observations.length === 0 || observations[observations.length - 1].position < position) return undefined;
    let low = 0;
    let high = observations.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (observations[middle].position >= position) high = middle;
      else low = middle + 1;
    }
    return observations[low];
  }
}

/** Starts `total` operations at `perSecond`, in 10 ms ticks, without waiting for earlier ones. */
async function paced(total: number, perSecond: number, operation: (index: number) => Promise<void>): Promise<number> {
  const started = now();
  const inFlight: Promise<void>[] = [];
  let issued = 0;
  while (issued < total) {
    const due = Math.min(total, Math.floor(((now() - started) / 1000) * perSecond) + 1);
    while (issued < due) inFlight.push(operation(issued++));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await Promise.all(inFlight);
  return (now() - started) / 1000;
}
