import fc from 'fast-check';
import { type Consumer, type Kafka, type Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topicNames } from '@ledger/bus';
import { EventTypes } from '@ledger/domain';
import { EVENT_STORE, type EventStore, type RecordedEvent } from '@ledger/event-store';
import type { LedgerEventMessage } from '@ledger/relay';
import { CommandIntake } from '@app/ledger/intake/command-intake';
import type { CommandResultMessage, DeadLetterMessage } from '@app/ledger/intake/command-messages';
import { createClient, type HttpClient, type HttpResponse } from '../support/http';
import { startTestApp, type TestApp } from '../support/test-app';
import { describeWithKafka, type TestKafka } from '../support/kafka';

/**
 * The faults that need Kafka, on a broker started here (or librdkafka's mock cluster, whose brokers
 * can be taken down too): the same command over HTTP and Kafka at once and again after a restart;
 * hostile messages on the command topic; Kafka down under load (the broker killed, then started again).
 */
interface Received<Value = any> {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Value;
  raw: Buffer | null;
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

describeWithKafka('faults with Kafka', { outage: true }, (testKafka) => {
  jest.setTimeout(90_000);
  const prefix = `faults-${randomUUID().slice(0, 8)}.`;
  const topics = topicNames(prefix);
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-kafka-faults-'));
  let kafka: TestKafka;
  let app: TestApp;
  let http: HttpClient;
  let producer: Producer;
  let probe: Consumer;
  const received: Received[] = [];

  const of = <Value>(topic: string) => received.filter((message) => message.topic === topic) as Received<Value>[];
  const results = (commandId: string) => of<CommandResultMessage>(topics.commandResults).filter((message) => message.key === commandId).map((message) => message.value);
  const store = () => app.app.get<EventStore>(EVENT_STORE);

  async function startApp(): Promise<void> {
    app = await startTestApp({
      dataDir,
      env: { ...kafka.appEnv(prefix), KAFKA_CLIENT_ID: 'ledger-faults', KAFKA_GROUP_ID: `${prefix}ledger` },
    });
    http = createClient(app.url, { maxSockets: 32 });
    await waitFor(() => app.app.get(CommandIntake).running, 30_000, () => 'the command intake to join its group');
  }

  async function send(values: { key: string | null; value: Buffer | string | null; headers?: Record<string, string> }[]): Promise<void> {
    await producer.send({ topic: topics.commands, acks: -1, messages: values.map(({ key, value, headers }) => ({ key, value, headers })) });
  }

  beforeAll(async () => {
    kafka = testKafka();
    await kafka.createLedgerTopics(prefix);
    await startApp();
    expect((await http.put('/v1/channels/web', { locations: ['wh-1'] })).status).toBe(200);
    const client = kafka.client('faults-probe');
    producer = client.producer({ allowAutoTopicCreation: !kafka.production });
    probe = client.consumer({ groupId: `${prefix}probe`, allowAutoTopicCreation: !kafka.production, ...kafka.consumerTiming, retry: { retries: 50, maxRetryTime: 2_000 } });
    const joined = new Promise<void>((resolve) => probe.on(probe.events.GROUP_JOIN, () => resolve()));
    await Promise.all([producer.connect(), probe.connect()]);
    await probe.subscribe({ topics: [topics.ledger, topics.commandResults, topics.commandsDlq], fromBeginning: true });
    await probe.run({
      eachMessage: async ({ topic, partition, message }) => {
        let value: unknown = null;
        try {
          value = message.value ? JSON.parse(message.value.toString('utf8')) : null;
        } catch {
          value = null;
        }
        received.push({ topic, partition, offset: message.offset, key: message.key?.toString() ?? null, value, raw: message.value });
      },
    });
    await joined;
  }, 90_000);

  afterAll(async () => {
    // Clients leave before the brokers go (describeWithKafka stops them after this): leaving needs them up.
    await kafka?.outage?.up().catch(() => undefined);
    await probe?.disconnect();
    await producer?.disconnect();
    http?.close();
    await app?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('the same command over HTTP and Kafka at once, and again after a restart: one set of events, every answer the first one', async () => {
    const sku = 'DUP-1';
    expect((await http.post(`/v1/skus/${sku}/receipts`, { receiptId: 'rc-dup', location: 'wh-1', quantity: 100 })).status).toBe(201);
    const n = 8;
    const reserve = (i: number) => ({ reservationId: `dup-res-${i}`, channel: 'web', quantity: 2 });
    /** Each command twice over HTTP and twice over Kafka, all at once: reservations, then their commits. */
    const deliverAll = async () => {
      const answers: (HttpResponse & { commandId: string })[] = [];
      const wave = async (commandId: (i: number) => string, path: (i: number) => string, body: (i: number) => Record<string, unknown> | undefined, message: (i: number) => Record<string, unknown>) => {
        const sends: Promise<unknown>[] = [];
        for (let i = 0; i < n; i++) {
          for (let copy = 0; copy < 2; copy++) {
            sends.push(http.post(path(i), body(i), { headers: { 'Idempotency-Key': commandId(i) } }).then((answer) => answers.push({ ...answer, commandId: commandId(i) })));
          }
          sends.push(send([0, 1].map(() => ({ key: sku, value: JSON.stringify({ commandId: commandId(i), sku, ...message(i) }) }))));
        }
        await Promise.all(sends);
      };
      await wave((i) => `dup-reserve-${i}`, () => `/v1/skus/${sku}/reservations`, reserve, (i) => ({ type: 'ReserveStock', ...reserve(i) }));
      await wave((i) => `dup-commit-${i}`, (i) => `/v1/skus/${sku}/reservations/dup-res-${i}/commit`, () => undefined, (i) => ({ type: 'CommitReservation', reservationId: `dup-res-${i}` }));
      return answers;
    };
    const commandIds = Array.from({ length: n }, (_, i) => [`dup-reserve-${i}`, `dup-commit-${i}`]).flat();
    const resultsArrived = (count: number) => waitFor(() => commandIds.every((id) => results(id).length >= count), 30_000, () => `${count} Kafka results for each of ${commandIds.length} commands`);

    // Reservations first; their commits once they are in (a commit may otherwise find no hold yet).
    const first = await deliverAll();
    await resultsArrived(2);
    const ledger = async () => (await store().readStream(`inventory-sku-${sku}`)).events;
    const once = (events: RecordedEvent[]) => {
      const count = (type: string, id: string) => events.filter((event) => event.type === type && event.data.reservationId === id).length;
      return Array.from({ length: n }, (_, i) => [count(EventTypes.StockReserved, `dup-res-${i}`), count(EventTypes.ReservationCommitted, `dup-res-${i}`)]);
    };
    const afterFirst = await ledger();
    expect(once(afterFirst)).toEqual(Array(n).fill([1, 1]));
    expect(afterFirst).toHaveLength(1 + 2 * n);
    expect(first.map((answer) => answer.status).sort()).toEqual([...Array(2 * n).fill(200), ...Array(2 * n).fill(201)]);
    for (const id of commandIds) {
      const answers = results(id);
      expect({ id, statuses: answers.map((answer) => answer.status) }).toEqual({ id, statuses: ['accepted', 'accepted'] });
      expect(new Set(answers.map((answer) => JSON.stringify(answer.result))).size).toBe(1);
    }
    // However the copies raced, at most one HTTP answer per command was the first run, and both said the same.
    for (const id of commandIds) {
      const mine = first.filter((answer) => answer.commandId === id);
      expect({ id, fresh: mine.filter((answer) => answer.headers['idempotent-replayed'] === undefined).length <= 1 }).toEqual({ id, fresh: true });
      const { revision: _r, position: _p, ...a } = mine[0].body;
      const { revision: _r2, position: _p2, ...b } = mine[1].body;
      expect(a).toEqual(b);
    }

    // Restart on the same data; deliver every command again both ways.
    http.close();
    await app.close({ keepData: true });
    await startApp();
    const again = await deliverAll();
    await resultsArrived(4);
    expect(await ledger()).toEqual(afterFirst);
    expect(again.filter((answer) => answer.status >= 300 || answer.headers['idempotent-replayed'] !== 'true').map((answer) => [answer.commandId, answer.status, answer.text])).toEqual([]);
    for (const id of commandIds) {
      const answers = results(id);
      expect({ id, statuses: answers.map((answer) => answer.status) }).toEqual({ id, statuses: Array(4).fill('accepted') });
      expect(new Set(answers.map((answer) => JSON.stringify(answer.result))).size).toBe(1);
    }
  });

  describe('hostile messages on the command topic', () => {
    const KEYS = ['FZ-1', 'FZ-2', 'FZ-3', 'FZ-4'];
    const hostile = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.constant(null), fc.boolean(), fc.constant(-1), fc.constant(1e308), fc.array(fc.string(), { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 }));
    const typed = fc.constantFrom('ReceiveStock', 'AdjustStock', 'ReserveStock', 'CommitReservation', 'ReleaseReservation', 'SellStock', 'ReceiveReturn', 'InspectReturn');
    /** Values that are never a valid command: each must end as a dead letter, and nothing may stall. */
    const malformed: fc.Arbitrary<{ label: string; value: Buffer | null }> = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 200 }).map((bytes) => ({ label: 'random bytes', value: Buffer.from(bytes) })),
      fc.jsonValue({ maxDepth: 3 }).filter((value) => typeof value !== 'object' || value === null || Array.isArray(value)).map((value) => ({ label: 'JSON, not an object', value: Buffer.from(JSON.stringify(value)) })),
      fc.record({ commandId: hostile, type: hostile, sku: hostile }, { requiredKeys: [] }).map((value) => ({ label: 'an object of no command type', value: Buffer.from(JSON.stringify(value)) })),
      fc
        .tuple(typed, fc.dictionary(fc.constantFrom('receiptId', 'location', 'quantity', 'reservationId', 'channel', 'saleId', 'delta', 'reason', 'returnId', 'commandId', 'sku'), hostile, { maxKeys: 4 }), fc.option(fc.constantFrom(...KEYS, 'no such sku', ''), { nil: undefined }))
        .map(([type, fields, sku]) => ({
          label: `a ${type} with hostile fields and one that does not exist`,
          value: Buffer.from(JSON.stringify({ commandId: `fz-${randomUUID()}`, type, sku, ...fields, notAField: true })),
        })),
      fc.constantFrom(
        { label: 'empty', value: Buffer.alloc(0) },
        { label: 'a tombstone', value: null },
        { label: 'invalid UTF-8', value: Buffer.concat([Buffer.from('{"commandId":"fz-utf8","type":"ReceiveStock","sku":"FZ-1","receiptId":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('","location":"wh-1","quantity":1,"x":1}')]) },
        { label: 'a byte-order mark', value: Buffer.from('\ufeff{"commandId":"fz-bom","type":"ReceiveStock"}') },
        { label: 'truncated', value: Buffer.from('{"commandId":"fz-trunc","type":"ReceiveSt') },
        { label: 'a command id of 10,000 characters', value: Buffer.from(JSON.stringify({ commandId: 'c'.repeat(10_000), type: 'ReceiveStock', sku: 'FZ-1', receiptId: 'r', location: 'wh-1', quantity: -1 })) },
        { label: 'a negative quantity', value: Buffer.from(JSON.stringify({ commandId: 'fz-neg', type: 'ReceiveStock', sku: 'FZ-2', receiptId: 'r-neg', location: 'wh-1', quantity: -5 })) },
        { label: 'a __proto__ field', value: Buffer.from('{"__proto__":{"x":1},"commandId":"fz-proto","type":"ReceiveStock","sku":"FZ-3","receiptId":"r-p","location":"wh-1","quantity":1}') },
      ),
    );
    const header = fc.string({ maxLength: 300 });

    async function sentinelsAccepted(tag: string): Promise<void> {
      const ids = KEYS.map((key) => `sentinel-${tag}-${key}`);
      await send(KEYS.map((key, i) => ({ key, value: JSON.stringify({ commandId: ids[i], type: 'ReceiveStock', sku: key, receiptId: ids[i], location: 'wh-1', quantity: 1 }) })));
      await waitFor(() => ids.every((id) => results(id).length > 0), 20_000, () => `the sentinel commands after the hostile ones (${ids.filter((id) => results(id).length === 0).join(', ')})`);
      for (const id of ids) expect(results(id)[0]).toMatchObject({ status: 'accepted' });
    }

    it('every malformed message becomes a dead letter with its bytes, the good ones after it are applied, and no stream changes', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(malformed, fc.option(fc.constantFrom(...KEYS), { nil: null }), fc.option(header, { nil: undefined })), { minLength: 15, maxLength: 40 }), async (batch) => {
          run += 1;
          const before = await Promise.all(KEYS.map(async (key) => (await store().readStream(`inventory-sku-${key}`)).events.filter((event) => !String(event.data.receiptId).startsWith('sentinel-')).length));
          const letters = () => of<DeadLetterMessage>(topics.commandsDlq).map((letter) => letter.value?.original as string);
          const seen = new Map<string, number>();
          for (const original of letters()) seen.set(original, (seen.get(original) ?? 0) + 1);
          await send(batch.map(([{ value }, key, correlation]) => ({ key, value, headers: correlation === undefined ? undefined : { 'correlation-id': correlation } })));
          await sentinelsAccepted(`p${run}`);
          const wanted = new Map<string, number>();
          for (const [{ value }] of batch) {
            const original = (value ?? Buffer.alloc(0)).toString('base64');
            wanted.set(original, (wanted.get(original) ?? 0) + 1);
          }
          await waitFor(
            () => {
              const now = new Map<string, number>();
              for (const original of letters()) now.set(original, (now.get(original) ?? 0) + 1);
              return [...wanted].every(([original, count]) => (now.get(original) ?? 0) - (seen.get(original) ?? 0) >= count);
            },
            20_000,
            () => `dead letters for all ${batch.length} malformed messages (${batch.map(([{ label }]) => label).join(', ')})`,
          );
          const after = await Promise.all(KEYS.map(async (key) => (await store().readStream(`inventory-sku-${key}`)).events.filter((event) => !String(event.data.receiptId).startsWith('sentinel-')).length));
          expect(after).toEqual(before);
        }),
        { numRuns: 3, endOnFailure: true },
      );
    });

    it.each([
      ['a field nested 10,000 deep', `{"commandId":"fz-deep-1","type":"ReceiveStock","sku":"FZ-1","receiptId":"deep","location":"wh-1","quantity":1,"reference":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`],
      ['an array nested 10,000 deep', `${'['.repeat(10_000)}${']'.repeat(10_000)}`],
      ['a quantity nested 10,000 deep', `{"commandId":"fz-deep-2","type":"ReceiveStock","sku":"FZ-2","receiptId":"deep","location":"wh-1","quantity":${'['.repeat(10_000)}1${']'.repeat(10_000)}}`],
    ])('%s: a dead letter, and the partition goes on', async (label, text) => {
      const before = of<DeadLetterMessage>(topics.commandsDlq).length;
      await send([{ key: 'FZ-1', value: text }]);
      await sentinelsAccepted(label.replace(/\W+/g, '-'));
      await waitFor(() => of<DeadLetterMessage>(topics.commandsDlq).slice(before).some((letter) => letter.value?.original === Buffer.from(text).toString('base64')), 10_000, () => `a dead letter for ${label}`);
    });
  });

  it('Kafka down under load: HTTP commands go on, the relay stalls, then catches up in order with nothing lost', async () => {
    const skus = ['OUT-1', 'OUT-2', 'OUT-3'];
    for (const sku of skus) expect((await http.post(`/v1/skus/${sku}/receipts`, { receiptId: 'rc-out', location: 'wh-1', quantity: 100_000 })).status).toBe(201);
    const relayStatus = async () => {
      const ready = await http.get('/health/ready');
      return (ready.body?.checks?.messaging?.detail?.relays ?? []).find((relay: { name: string }) => relay.name === 'ledger') as { checkpoint: number | null; lagPositions: number; state: string; failures: number } | undefined;
    };
    await waitFor(async () => (await relayStatus())?.lagPositions === 0, 20_000, () => 'the ledger relay to be caught up before the outage');

    const statuses = new Map<number, number>();
    const latencies: number[] = [];
    let stop = false;
    let n = 0;
    // Paced for the mock, which keeps only about 5 MB per partition and drops the oldest beyond that,
    // which a consumer would see as loss. A few hundred commands a second stay well inside it.
    const workers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const sku = skus[n % skus.length];
        const id = `out-${++n}`;
        const started = Date.now();
        const answer = await http.post(`/v1/skus/${sku}/reservations`, { reservationId: id, channel: 'web', quantity: 1 });
        latencies.push(Date.now() - started);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        await new Promise((done) => setTimeout(done, 15));
      }
    });
    await new Promise((done) => setTimeout(done, 500));
    await kafka.outage!.down();
    const downAt = Date.now();
    const duringOutage: { lag: number; state: string; checkpoint: number | null }[] = [];
    while (Date.now() - downAt < 5_000) {
      const status = await relayStatus();
      if (status) duringOutage.push({ lag: status.lagPositions, state: status.state, checkpoint: status.checkpoint });
      await new Promise((done) => setTimeout(done, 250));
    }
    const acceptedDuringOutage = statuses.get(201) ?? 0;
    await kafka.outage!.up();
    await new Promise((done) => setTimeout(done, 1_000));
    stop = true;
    await Promise.all(workers);

    // HTTP never noticed: every answer a 201, quickly, all through the outage.
    expect([...statuses.keys()]).toEqual([201]);
    expect(acceptedDuringOutage).toBeGreaterThan(50);
    latencies.sort((a, b) => a - b);
    expect(latencies[Math.floor(latencies.length * 0.99)]).toBeLessThan(1_000);
    // The relay stalled: its lag grew while the brokers were down.
    expect(Math.max(...duringOutage.map((status) => status.lag))).toBeGreaterThan(50);

    // Then it caught up, and every event of these SKUs is on inventory.ledger.v1, first arrivals in revision order.
    let afterOutage: unknown;
    await waitFor(async () => (afterOutage = await relayStatus()) !== undefined && (afterOutage as { lagPositions: number }).lagPositions === 0, 60_000, () => `the ledger relay to catch up after the outage (it is ${JSON.stringify(afterOutage)})`);
    let recount: Record<string, number> = {};
    const perPartition = () => {
      const counts: Record<string, number> = {};
      for (const message of of(topics.ledger)) counts[`${message.partition}`] = Math.max(counts[`${message.partition}`] ?? 0, Number(message.offset));
      return counts;
    };
    for (const sku of skus) {
      const stream = (await store().readStream(`inventory-sku-${sku}`)).events;
      await waitFor(
        () => new Set(of<LedgerEventMessage>(topics.ledger).filter((message) => message.key === sku).map((message) => message.value.revision)).size === stream.length,
        30_000,
        () => `all ${stream.length} events of ${sku} on the ledger topic (the probe has ${new Set(of<LedgerEventMessage>(topics.ledger).filter((message) => message.key === sku).map((message) => message.value.revision)).size}; read afresh: ${JSON.stringify(recount)})`,
      ).catch(async (error) => {
        recount = await countLedgerTopic(kafka.client('faults-recount'), topics.ledger);
        const partitions = [...new Set(of<LedgerEventMessage>(topics.ledger).filter((message) => message.key === sku).map((message) => message.partition))];
        throw new Error(`${(error as Error).message}; read afresh: ${JSON.stringify(recount)}; partitions ${partitions}; probe per partition ${JSON.stringify(perPartition())}`);
      });
      const arrivals = of<LedgerEventMessage>(topics.ledger).filter((message) => message.key === sku).map((message) => message.value);
      let highest = -1;
      const firstArrivals: number[] = [];
      for (const event of arrivals) {
        if (event.revision > highest) {
          firstArrivals.push(event.revision);
          highest = event.revision;
        }
      }
      expect({ sku, firstArrivals }).toEqual({ sku, firstArrivals: stream.map((event) => event.revision) });
      for (const event of arrivals) expect(event.eventId).toBe(stream[event.revision].id);
    }
  });
});

/** Distinct revisions per key on the ledger topic, read from the beginning by a fresh consumer group. */
async function countLedgerTopic(client: Kafka, topic: string): Promise<Record<string, number>> {
  const consumer = client.consumer({ groupId: `recount-${randomUUID()}`, sessionTimeout: 3_000, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
  const seen = new Map<string, Set<number>>();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const key = message.key?.toString() ?? '';
      const revision = JSON.parse(message.value?.toString() ?? '{}').revision as number;
      seen.set(key, (seen.get(key) ?? new Set()).add(revision));
    },
  });
  await new Promise((done) => setTimeout(done, 8_000));
  await consumer.disconnect();
  return Object.fromEntries([...seen].map(([key, revisions]) => [key, revisions.size]));
}
