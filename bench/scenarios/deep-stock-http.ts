import { join } from 'node:path';
import { AppProcess, call } from '../support/app-process';
import { storeKind } from '../support/ledger';
import { RUN_TAG, find, goal, measurement, round, settle, type Goal, type Measurement, type ScenarioOptions, type ScenarioResult } from '../support/measure';
import { INSTALL_HINT, idsKey, redisServerPath, reservingClient, startRedis, stockKey, type RedisServer } from '../support/redis';
import { DEEP_UNITS_PER_LOCATION, describeHolds, holdsExactly } from './deep-stock';
import { HOT_CHANNELS } from './hot-sku';
import { cannon } from './hot-sku-http';

const CONNECTIONS = [64, 256] as const;
const WARMUP = 5_000;
const ledgerLine = (connections: number) => `ledger over HTTP, ${connections} connections`;
const redisLine = (connections: number) => `Fastify + Redis over HTTP, ${connections} connections`;

/**
 * The deep-stock flash sale over HTTP: every reservation unique and accepted, autocannon in this
 * process, the server in another. First the ledger app, then the anchor (Fastify + Redis, AOF
 * appendfsync always, one Lua script per reservation) under the same load, in the same run.
 */
export default async function run(options: ScenarioOptions): Promise<ScenarioResult> {
  const amount = options.quick ? 10_000 : 60_000;
  const channels = Object.keys(HOT_CHANNELS);
  const lines: Measurement[] = [];
  const notes: string[] = [];

  const app = await AppProcess.start(join(options.workDir, 'ledger'), options.env);
  try {
    for (const [channel, locations] of Object.entries(HOT_CHANNELS)) await expectStatus(call(app.url, 'PUT', `/v1/channels/${channel}`, { locations }), 200);
    const receive = async (sku: string) => {
      let receipt = 0;
      for (const location of ['wh-east', 'wh-west']) {
        await expectStatus(call(app.url, 'POST', `/v1/skus/${sku}/receipts`, { receiptId: `rcpt-${++receipt}`, location, quantity: DEEP_UNITS_PER_LOCATION }), 201);
      }
    };
    await receive(`DEEP-WARMUP-${RUN_TAG}`);
    await cannon(app.url, `DEEP-WARMUP-${RUN_TAG}`, channels, WARMUP, 'w', 64);
    await settle(300);
    for (const connections of CONNECTIONS) {
      const sku = `DEEP-${connections}-${RUN_TAG}`;
      await receive(sku);
      await settle(200);
      await app.resetRss();
      const before = await app.rss();
      await app.profileStart();
      const sale = await cannon(app.url, sku, channels, amount, 'r', connections);
      await app.profileStop(`deep-${connections}`);
      const { peakMb, cpuSeconds } = await app.rss();
      const stored = await app.storedHolds(sku);
      const read = await call(app.url, 'GET', `/v1/skus/${sku}`);
      const totals = read.body?.totals as { onHand: number; reserved: number; available: number } | undefined;
      lines.push(
        measurement({
          name: ledgerLine(connections),
          operations: amount,
          seconds: sale.seconds,
          unit: 'committed reservations/s',
          latencyMs: sale.latencies.summary(),
          peakRssMb: peakMb,
          correctness: { accepted: sale.accepted, refused: sale.refused, oversold: totals ? Math.max(0, totals.reserved - totals.onHand) : NaN, errors: sale.errors },
          extra: {
            connections,
            serverCpuUsPerRequest: round(((cpuSeconds - before.cpuSeconds) / amount) * 1e6, 1),
            reservedEventsInStore: stored.reservedEvents,
            distinctReservationsInStore: stored.distinctReservations,
            reservedPerLedger: totals?.reserved ?? -1,
            p99AfterFirstPerConnectionMs: sale.steady.summary()?.p99 ?? -1,
          },
        }),
      );
      notes.push(`ledger ${connections} connections, status codes: ${JSON.stringify(sale.statuses)}.`);
    }
  } finally {
    await app.close();
  }

  const ratios: Record<string, number> = {};
  const binary = redisServerPath();
  if (binary) {
    const redis = await startRedis(binary, join(options.workDir, 'redis'));
    const anchor = await AppProcess.startRedisAnchor(redis.port).catch(async (error: unknown) => {
      await redis.stop();
      throw error;
    });
    const client = reservingClient(redis.port);
    try {
      await client.set(stockKey(`DEEP-WARMUP-${RUN_TAG}`), 2 * DEEP_UNITS_PER_LOCATION);
      await cannon(anchor.url, `DEEP-WARMUP-${RUN_TAG}`, channels, WARMUP, 'w', 64);
      await settle(300);
      for (const connections of CONNECTIONS) {
        const sku = `DEEP-${connections}-${RUN_TAG}`;
        await client.set(stockKey(sku), 2 * DEEP_UNITS_PER_LOCATION);
        const line = await anchorLine(anchor, redis, client, sku, channels, amount, connections);
        lines.push(line);
        const ledger = lines.find((other) => other.name === ledgerLine(connections)) as Measurement;
        ratios[`ledger / Fastify+Redis, ${connections} connections`] = round(ledger.throughput / line.throughput, 2);
      }
    } finally {
      client.disconnect();
      await anchor.close();
      await redis.stop();
    }
  } else notes.push(INSTALL_HINT);

  return {
    scenario: 'deep-stock-http',
    quick: options.quick,
    store: storeKind(options.env),
    measurements: lines,
    ratios,
    goals: [],
    notes: [
      `${amount} reservations per line, each with its own id, of one unit from one of four channels, on ${2 * DEEP_UNITS_PER_LOCATION} units: all are accepted. ${WARMUP} warm-up requests first on each server.`,
      'serverCpuUsPerRequest: the server process (Fastify + Redis: the Node process and redis-server added up, redisServerCpuUsPerRequest the latter); autocannon runs in another process on the same 2 cores.',
      'Correctness: the ledger app re-reads the SKU stream after each line (StockReserved events and their distinct ids); Redis: the counter and the id set.',
      ...notes,
    ],
  };
}

export function evaluate(result: ScenarioResult): Goal[] {
  const moderate = find(result, ledgerLine(64));
  const ratio = result.ratios['ledger / Fastify+Redis, 64 connections'];
  const p99 = moderate.latencyMs?.p99 ?? Infinity;
  const goals: Goal[] = [
    ratio === undefined
      ? goal('deep stock over HTTP, 64 connections, vs Fastify + Redis', '>= 1.0x', 'no Redis line (redis-server missing)', false)
      : goal('deep stock over HTTP, 64 connections, vs Fastify + Redis', '>= 1.0x', `${ratio}x (${moderate.throughput}/s)`, ratio >= 1),
    goal('deep stock over HTTP p99, 64 connections', '< 25 ms', `${p99} ms`, p99 < 25),
  ];
  for (const connections of CONNECTIONS) {
    const line = find(result, ledgerLine(connections));
    goals.push(goal(`deep stock over HTTP, ${connections} connections, ledger holds exactly what was acknowledged`, 'every reservation acknowledged and stored once, 0 errors', describeHolds(line), holdsExactly(line)));
  }
  return goals;
}

async function anchorLine(
  anchor: AppProcess,
  redis: RedisServer,
  client: ReturnType<typeof reservingClient>,
  sku: string,
  channels: string[],
  amount: number,
  connections: number,
): Promise<Measurement> {
  await anchor.resetRss();
  const before = await anchor.rss();
  const redisBefore = redis.cpuSeconds();
  const sale = await cannon(anchor.url, sku, channels, amount, 'r', connections);
  const { peakMb, cpuSeconds } = await anchor.rss();
  const redisCpu = redis.cpuSeconds() - redisBefore;
  const units = 2 * DEEP_UNITS_PER_LOCATION;
  const left = Number(await client.get(stockKey(sku)));
  const ids = await client.scard(idsKey(sku));
  return measurement({
    name: redisLine(connections),
    operations: amount,
    seconds: sale.seconds,
    unit: 'committed reservations/s',
    latencyMs: sale.latencies.summary(),
    // The Node process's peak during this line plus redis-server's peak so far (VmHWM).
    peakRssMb: round(peakMb + redis.peakRssMb(), 1),
    correctness: { accepted: sale.accepted, refused: sale.refused, oversold: Math.max(0, -left), errors: sale.errors },
    extra: {
      connections,
      serverCpuUsPerRequest: round(((cpuSeconds - before.cpuSeconds + redisCpu) / amount) * 1e6, 1),
      redisServerCpuUsPerRequest: round((redisCpu / amount) * 1e6, 1),
      reservedEventsInStore: units - left,
      distinctReservationsInStore: ids,
      p99AfterFirstPerConnectionMs: sale.steady.summary()?.p99 ?? -1,
    },
  });
}

async function expectStatus(response: Promise<{ status: number; body: unknown }>, status: number): Promise<void> {
  const answer = await response;
  if (answer.status !== status) throw new Error(`setup call answered ${answer.status}: ${JSON.stringify(answer.body)}`);
}
