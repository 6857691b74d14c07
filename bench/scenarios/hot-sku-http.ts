import { join } from 'node:path';
import { AppProcess, call } from '../support/app-process';
import { storeKind } from '../support/ledger';
import { Latencies, find, goal, measurement, round, settle, type Correctness, type Goal, type ScenarioOptions, type ScenarioResult } from '../support/measure';
import { HOT_CHANNELS, HOT_STOCK, HOT_UNITS } from './hot-sku';

// autocannon ships no types; this is the part the bench uses.
interface AutocannonRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?(request: AutocannonRequest): AutocannonRequest;
}
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}
interface AutocannonInstance extends PromiseLike<AutocannonResult> {
  on(event: 'response', listener: (client: unknown, statusCode: number, bytes: number, responseTimeMs: number) => void): void;
}
type Autocannon = (options: Record<string, unknown>) => AutocannonInstance;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as Autocannon;

const CONNECTIONS = 256;
const LINE = 'ledger over HTTP (autocannon, 256 connections)';

/**
 * The flash sale over HTTP: the app in its own process, autocannon in this one, each request a new
 * hold (unique reservationId from setupRequest) of one unit from one of four channels.
 */
export default async function run(options: ScenarioOptions): Promise<ScenarioResult> {
  const attempts = options.quick ? 5_000 : 20_000;
  const app = await AppProcess.start(join(options.workDir, 'ledger'), options.env);
  try {
    const channels = Object.keys(HOT_CHANNELS);
    for (const [channel, locations] of Object.entries(HOT_CHANNELS)) await expectStatus(call(app.url, 'PUT', `/v1/channels/${channel}`, { locations }), 200);
    const receive = async (sku: string, units: number) => {
      let receipt = 0;
      for (const [location, quantity] of Object.entries(HOT_STOCK)) {
        await expectStatus(call(app.url, 'POST', `/v1/skus/${sku}/receipts`, { receiptId: `rcpt-${++receipt}`, location, quantity: (quantity / HOT_UNITS) * units }), 201);
      }
    };
    // Warm-up: JIT and connection setup, on another SKU.
    await receive('WARMUP', HOT_UNITS / 4);
    await cannon(app.url, 'WARMUP', channels, Math.min(4_000, attempts), 'w');
    await settle(300);

    await receive('HOT-1', HOT_UNITS);
    await app.resetRss();
    const sale = await cannon(app.url, 'HOT-1', channels, attempts, 'r');
    const { peakMb } = await app.rss();
    const sku = await call(app.url, 'GET', '/v1/skus/HOT-1');
    const totals = sku.body?.totals as { onHand: number; reserved: number; available: number } | undefined;
    const oversold = totals ? Math.max(0, totals.reserved - totals.onHand, -totals.available, sale.accepted - HOT_UNITS) : NaN;
    const line = measurement({
      name: LINE,
      operations: sale.accepted + sale.refused + sale.errors,
      seconds: sale.seconds,
      unit: 'reservation attempts/s',
      latencyMs: sale.latencies.summary(),
      peakRssMb: peakMb,
      correctness: { accepted: sale.accepted, refused: sale.refused, oversold, errors: sale.errors },
      extra: { connections: CONNECTIONS, reservedPerLedger: totals?.reserved ?? -1, onHand: totals?.onHand ?? -1 },
    });
    return {
      scenario: 'hot-sku-http',
      quick: options.quick,
      store: storeKind(options.env),
      measurements: [line],
      ratios: {},
      goals: [],
      notes: [
        'Peak RSS is the app process; autocannon runs in another process on the same 2 cores.',
        `Status codes: ${JSON.stringify(sale.statuses)}.`,
      ],
    };
  } finally {
    await app.close();
  }
}

export function evaluate(result: ScenarioResult): Goal[] {
  const line = find(result, LINE);
  const c = line.correctness as Correctness;
  const p99 = line.latencyMs?.p99 ?? Infinity;
  return [
    goal('hot SKU over HTTP', '>= 5,000 attempts/s', `${line.throughput}/s`, line.throughput >= 5_000),
    goal('hot SKU over HTTP p99', '< 50 ms', `${p99} ms`, p99 < 50),
    goal(
      'hot SKU over HTTP correctness',
      `0 oversold, exactly ${HOT_UNITS} held`,
      `${c.oversold} oversold, ${c.accepted} acknowledged, ${line.extra?.reservedPerLedger} reserved per ledger, ${c.errors} errors`,
      c.oversold === 0 && c.accepted === HOT_UNITS && line.extra?.reservedPerLedger === HOT_UNITS && c.errors === 0,
    ),
  ];
}

async function expectStatus(response: Promise<{ status: number; body: unknown }>, status: number): Promise<void> {
  const answer = await response;
  if (answer.status !== status) throw new Error(`setup call answered ${answer.status}: ${JSON.stringify(answer.body)}`);
}

async function cannon(url: string, sku: string, channels: string[], amount: number, prefix: string) {
  let next = 0;
  const latencies = new Latencies();
  const statuses: Record<number, number> = {};
  const instance = autocannon({
    url,
    connections: CONNECTIONS,
    amount,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: `/v1/skus/${sku}/reservations`,
        headers: { 'content-type': 'application/json' },
        setupRequest: (request: AutocannonRequest) => {
          const index = next++;
          return { ...request, body: JSON.stringify({ reservationId: `${prefix}-${index}`, channel: channels[index % channels.length], quantity: 1 }) };
        },
      },
    ],
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    latencies.add(responseTime);
  });
  const result = await instance;
  const accepted = statuses[201] ?? 0;
  const refused = statuses[409] ?? 0;
  const answered = Object.values(statuses).reduce((sum, count) => sum + count, 0);
  return {
    seconds: round(result.duration, 3),
    accepted,
    refused,
    errors: answered - accepted - refused + result.errors + result.timeouts,
    latencies,
    statuses,
  };
}
