import { join } from 'node:path';
import { ConfigureChannelCommand, ReceiveStockCommand, ReserveStockCommand, type CommandOutcome } from '@ledger/core';
import { AvailabilityChangedEvent } from '@ledger/projections';
import { Messaging, type AvailabilityMessage } from '@ledger/relay';
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
 * Two probes: the projection's own signal on the CQRS EventBus, and the availability topic on the
 * app's message bus (the in-process bus by default; Kafka when KAFKA_BROKERS is set, so the same
 * line then measures the broker round trip). The scenario matches every acknowledged reservation
 * against every probe and reports p50/p95/p99 per probe, one table line each.
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

/**
 * The availability topic: what a channel connector consumes. On the in-process bus (no Kafka
 * configured) the same relay and subscription path runs as on Kafka, without the broker.
 */
const topicProbe: PropagationProbe = {
  name: 'availability topic',
  available: () => true,
  async attach(running, seen) {
    const messaging = running.app.get(Messaging, { strict: false });
    const subscription = await messaging.bus.subscribe({
      groupId: `bench-propagation-${RUN_TAG}-${++probeGroups}`,
      topics: [messaging.topics.availability],
      handler: async (message) => {
        if (!message.value) return;
        const { sku, position } = JSON.parse(message.value.toString('utf8')) as AvailabilityMessage;
        seen(sku, position);
      },
    });
    return () => subscription.stop();
  },
};
let probeGroups = 0;

/**
 * The moment the availability relay hands a change to the bus (its publish resolved): with the topic
 * line, it tells the relay's share of the delay from the consumer's. Bench-only instrumentation.
 */
const relayProbe: PropagationProbe = {
  name: 'availability relay publish',
  available: () => true,
  async attach(running, seen) {
    const messaging = running.app.get(Messaging, { strict: false });
    const bus = messaging.bus;
    const original = bus.publish;
    bus.publish = async (messages) => {
      await original.call(bus, messages);
      for (const message of messages) {
        if (message.topic !== messaging.topics.availability) continue;
        const { sku, position } = JSON.parse(String(message.value)) as AvailabilityMessage;
        seen(sku, position);
      }
    };
    return async () => {
      bus.publish = original;
    };
  },
};

export const PROBES: PropagationProbe[] = [projectionProbe, relayProbe, topicProbe];

const SKUS = 100;
const PACED_PER_SECOND = 1_000;
const CLOSED_CONCURRENCY = 16;
/** The deep-stock flash sale of bench/scenarios/deep-stock.ts: one SKU, 512 in flight, all accepted. */
const DEEP_CONCURRENCY = 512;
type Mode = 'paced' | 'closed' | 'deep-stock';
const MODE_LABEL: Record<Mode, string> = {
  paced: `paced ${PACED_PER_SECOND}/s`,
  closed: `${CLOSED_CONCURRENCY} callers flat out`,
  'deep-stock': `under the deep-stock load (one SKU, ${DEEP_CONCURRENCY} in flight)`,
};

/**
 * Time from a reservation's durable commit (and from its acknowledgement) to the changed channel
 * count being observable, per probe: paced at 1,000 reservations/s over 100 SKUs (a busy shop), as
 * fast as 16 callers can go, and under the deep-stock flash sale (one SKU, 512 in flight).
 */
export default async function run(options: ScenarioOptions): Promise<ScenarioResult> {
  const reservations = options.quick ? 2_000 : 10_000;
  const deepReservations = options.quick ? 20_000 : 60_000;
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
  for (const mode of ['paced', 'closed', 'deep-stock'] as const) {
    const total = mode === 'deep-stock' ? deepReservations : reservations;
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
    const pick = mode === 'deep-stock' ? () => sku(0) : () => sku(Math.floor(random() * SKUS));
    const channels = Object.keys(HOT_CHANNELS);
    const reserve = async (index: number) => {
      const target = pick();
      const context = benchContext(`${mode}-${index}`);
      const outcome: CommandOutcome = await running.bus.execute(
        new ReserveStockCommand(target, { reservationId: `${mode}-${index}`, channel: channels[index % channels.length], quantity: 1 }, context),
      );
      const at = now();
      const position = outcome.position as number;
      for (const tracker of fromCommit) tracker.acknowledged(target, position, committedAt.get(position) ?? at);
      for (const tracker of fromAck) tracker.acknowledged(target, position, at);
    };
    const seconds = await profiled(`propagation-${mode}`, () =>
      mode === 'paced' ? paced(total, PACED_PER_SECOND, reserve) : closedLoop(total, mode === 'closed' ? CLOSED_CONCURRENCY : DEEP_CONCURRENCY, reserve),
    );
    await quiesce(running);
    await settle(100);
    await Promise.all(detach.map((stop) => stop()));
    for (const tracker of trackers) {
      measurements.push(
        measurement({
          name: `${tracker.name}, ${MODE_LABEL[mode]}`,
          operations: total,
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
      `Probes: ${probes.map((probe) => probe.name).join('; ')}; the topic is on the app's bus (in process unless KAFKA_BROKERS is set).`,
    ],
  };
}

export function evaluate(result: ScenarioResult): Goal[] {
  const line = (mode: Mode, probe = 'availability projection') => find(result, `commit -> ${probe}${probe === 'availability projection' ? ' (EventBus)' : ''}, ${MODE_LABEL[mode]}`);
  const judged = (name: string, target: number, measured: Measurement) => {
    const p99 = measured.latencyMs?.p99 ?? Infinity;
    const missing = Number(measured.extra?.neverSeen ?? 0);
    return goal(name, `< ${target} ms, none missing`, `${p99} ms, ${missing} missing`, p99 < target && missing === 0);
  };
  const topic = line('deep-stock', 'availability topic');
  return [
    judged('propagation commit -> availability projection p99 (paced)', 20, line('paced')),
    judged('propagation commit -> availability projection p99 under the deep-stock load', 10, line('deep-stock')),
    goal('propagation under the deep-stock load: every reservation reaches the availability topic', 'none missing', `${topic.extra?.neverSeen} missing, p99 ${topic.latencyMs?.p99} ms`, Number(topic.extra?.neverSeen) === 0),
  ];
}

/**
 * Matches acknowledgements with observations per SKU by ledger position: the latency of one
 * reservation is the first observation of its SKU at its position or later, minus its start time
 * (0 when that observation came first).
 */
class Tracker {
  readonly latencies = new Latencies();
  early = 0;
  /** Per SKU, acknowledgements not yet seen, kept in position order from `head` on. */
  private readonly waiting = new Map<string, { entries: { position: number; at: number }[]; head: number }>();
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
    let queue = this.waiting.get(sku);
    if (!queue) this.waiting.set(sku, (queue = { entries: [], head: 0 }));
    // Acknowledgements come nearly in position order: insertion walks back a step or two at most.
    const { entries } = queue;
    let index = entries.length;
    while (index > queue.head && entries[index - 1].position > position) index--;
    entries.splice(index, 0, { position, at });
  }

  seen(sku: string, position: number): void {
    const at = now();
    let observations = this.observed.get(sku);
    if (!observations) this.observed.set(sku, (observations = []));
    if (observations.length === 0 || observations[observations.length - 1].position < position) observations.push({ position, at });
    const queue = this.waiting.get(sku);
    if (!queue) return;
    const { entries } = queue;
    while (queue.head < entries.length && entries[queue.head].position <= position) this.latencies.add(at - entries[queue.head++].at);
    if (queue.head > 4_096) {
      entries.splice(0, queue.head);
      queue.head = 0;
    }
  }

  outstanding(): number {
    let count = 0;
    for (const queue of this.waiting.values()) count += queue.entries.length - queue.head;
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
