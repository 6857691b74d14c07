import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigResourceTypes, type Admin, type Consumer, type Kafka, type Producer } from 'kafkajs';
import { KafkaBus, topicNames, type TopicNames } from '@ledger/bus';
import { AvailabilityConsumer, Connector, InMemoryAvailabilityStore, isNewer, LoggingChannelAdapter } from '@ledger/connector';
import { EVENT_STORE, type EventStore } from '@ledger/event-store';
import { ProjectionManager, type ChannelAvailability } from '@ledger/projections';
import { AvailabilityRelay, LedgerRelay, RelayCheckpointStore, type AvailabilityMessage, type LedgerEventMessage } from '@ledger/relay';
import { loadConnectorConfig } from '@app/connector/config';
import { CommandIntake } from '@app/ledger/intake/command-intake';
import type { CommandResultMessage, DeadLetterMessage } from '@app/ledger/intake/command-messages';
import { eventually } from '@ledger/relay/testing/fixtures';
import { createClient, type HttpClient } from '../support/http';
import { describeWithKafka, itOnRealKafka } from '../support/kafka';
import { readWholeTopic } from '../support/kafka/read-topic';
import { readTopicSettings, runCreateTopicsScript } from '../support/kafka/topics';
import { startTestApp, type TestApp } from '../support/test-app';

/** Tombstones the compaction test sends to roll every partition's segment; not an availability key. */
const ROLL_KEY = 'compaction-roll';

interface Received<Value = unknown> {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  value: Value;
  raw: Buffer | null;
  headers: Record<string, string>;
}

const quietLogger = { log: () => undefined, warn: () => undefined, error: () => undefined };

describeWithKafka('Kafka relays and command intake', {}, (kafka, kind) => {
  // An inner block, so its afterAll (consumers leave, app closes) runs before the outer one stops the
  // cluster: leaving a group needs the brokers (the bus's close is bounded should they be gone).
  describe('one app, one probe consumer, one connector', () => {
    const prefix = `e2e-${randomUUID().slice(0, 8)}.`;
    const topics: TopicNames = topicNames(prefix);
    let app: TestApp;
    let http: HttpClient;
    let client: Kafka;
    let producer: Producer;
    let probe: Consumer;
    let connectorBus: KafkaBus;
    let connector: AvailabilityConsumer;
    let connectorStore: InMemoryAvailabilityStore;
    const received: Received[] = [];

    const of = <Value>(topic: string) => received.filter((message) => message.topic === topic) as Received<Value>[];
    const availability = () => of<AvailabilityMessage>(topics.availability);
    const results = () => of<CommandResultMessage>(topics.commandResults);
    const deadLetters = () => of<DeadLetterMessage>(topics.commandsDlq);
    const ledger = () => of<LedgerEventMessage>(topics.ledger);

    beforeAll(async () => {
      // On the broker started here, deploy/kafka/create-topics.sh itself makes the topics; elsewhere
      // the same settings (topics.txt) go through the admin API. The mock creates them on first use.
      if (kafka().kind === 'broker') await runCreateTopicsScript(kafka().brokers, { prefix, partitions: kafka().partitions, replicationFactor: 1, minInsyncReplicas: 1 });
      else await kafka().createLedgerTopics(prefix);
      app = await startTestApp({
        env: { ...kafka().appEnv(prefix), KAFKA_CLIENT_ID: 'ledger-e2e', KAFKA_GROUP_ID: `${prefix}ledger` },
      });
      http = createClient(app.url, { maxSockets: 16 });
      expect((await http.put('/v1/channels/amazon', { locations: ['wh-1'] })).status).toBe(200);
      expect((await http.put('/v1/channels/shopify', { locations: [] })).status).toBe(200);

      client = kafka().client('e2e-probe');
      producer = client.producer({ allowAutoTopicCreation: !kafka().production });
      probe = client.consumer({ groupId: `${prefix}probe`, allowAutoTopicCreation: !kafka().production, ...kafka().consumerTiming });
      const probeJoined = new Promise<void>((resolve) => probe.on(probe.events.GROUP_JOIN, () => resolve()));
      await Promise.all([producer.connect(), probe.connect()]);
      await probe.subscribe({ topics: [topics.availability, topics.commandResults, topics.commandsDlq, topics.ledger], fromBeginning: true });
      await probe.run({
        eachMessage: async ({ topic, partition, message }) => {
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]));
          const text = message.value?.toString() ?? 'null';
          received.push({ topic, partition, offset: message.offset, key: message.key?.toString() ?? '', value: JSON.parse(text), raw: message.value, headers });
        },
      });

      // The reference connector, through the bus port, for one channel.
      connectorBus = new KafkaBus({ clientId: 'e2e-connector', ...kafka().busConfig, logger: quietLogger, logLevel: 'error' });
      await connectorBus.connect();
      connectorStore = new InMemoryAvailabilityStore();
      connector = new AvailabilityConsumer({
        bus: connectorBus,
        topic: topics.availability,
        channel: 'amazon',
        adapter: new LoggingChannelAdapter('amazon', quietLogger),
        store: connectorStore,
        groupId: `${prefix}connector-amazon`,
        logger: quietLogger,
      });
      // Group joins run side by side (on the mock about 3 s each).
      await Promise.all([connector.start(), probeJoined, eventually(() => app.app.get(CommandIntake).running, { timeoutMs: 20_000 })]);
    }, 180_000); // create-topics.sh starts one kafka-topics JVM per topic: slow on a loaded machine

    afterAll(async () => {
      await admin?.disconnect();
      await connector?.stop();
      await connectorBus?.close();
      await probe?.disconnect();
      await producer?.disconnect();
      http?.close();
      await app?.close();
    }, 30_000);

    let admin: Admin | null = null;
    async function connectedAdmin(): Promise<Admin> {
      if (!admin) {
        admin = client.admin();
        await admin.connect();
      }
      return admin;
    }

    async function sendCommand(value: unknown, key: string, headers: Record<string, string> = {}): Promise<void> {
      await producer.send({ topic: topics.commands, acks: -1, messages: [{ key, value: typeof value === 'string' ? value : JSON.stringify(value), headers }] });
    }

    async function resultsFor(commandId: string, count = 1): Promise<CommandResultMessage[]> {
      await eventually(() => results().filter((message) => message.key === commandId).length >= count, { timeoutMs: 15_000 });
      return results().filter((message) => message.key === commandId).map((message) => message.value);
    }

    /** Applies messages by the connector contract: per key, the highest (revision, position) wins. */
    function applyByRevision(messages: Received<AvailabilityMessage>[]): Map<string, AvailabilityMessage> {
      const state = new Map<string, AvailabilityMessage>();
      for (const { key, value } of messages) if (isNewer(value, state.get(key))) state.set(key, value);
      return state;
    }

    function projected(): ChannelAvailability[] {
      return app.app.get(ProjectionManager).availability().all();
    }

    function expectConsumersEqualProjection(): void {
      const state = applyByRevision(availability());
      const rows = projected();
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        expect({ key: `${row.channel}:${row.sku}`, available: state.get(`${row.channel}:${row.sku}`)?.available }).toEqual({ key: `${row.channel}:${row.sku}`, available: row.available });
      }
      const amazon = rows.filter((row) => row.channel === 'amazon');
      for (const row of amazon) expect({ sku: row.sku, available: connectorStore.get(row.sku)?.available }).toEqual({ sku: row.sku, available: row.available });
    }

    it('relays a reservation made over HTTP to a kafkajs consumer of inventory.availability.v1 with its count and revision', async () => {
      expect((await http.post('/v1/skus/TEE-M/receipts', { receiptId: 'r-1', location: 'wh-1', quantity: 10 })).status).toBe(201);
      const reserved = await http.post('/v1/skus/TEE-M/reservations', { reservationId: 'res-1', channel: 'amazon', quantity: 4 }, { headers: { 'X-Correlation-Id': 'checkout-9' } });
      expect(reserved.status).toBe(201);
      const { revision, position } = reserved.body;

      await eventually(() => availability().filter((message) => message.value.position === position).length === 2, { timeoutMs: 15_000 });
      const amazon = availability().find((message) => message.key === 'amazon:TEE-M' && message.value.position === position);
      expect(amazon?.value).toEqual({ sku: 'TEE-M', channel: 'amazon', available: 6, revision, position, emittedAt: expect.any(String) });
      const shopify = availability().find((message) => message.key === 'shopify:TEE-M' && message.value.position === position);
      expect(shopify?.value).toMatchObject({ available: 6, revision });

      await eventually(() => ledger().some((message) => message.value.position === position), { timeoutMs: 15_000 });
      const event = ledger().find((message) => message.value.position === position);
      expect(event).toMatchObject({ key: 'TEE-M', headers: { 'event-type': 'inventory.stock-reserved.v1', 'correlation-id': 'checkout-9', 'event-id': event?.value.eventId } });
      await eventually(() => connectorStore.get('TEE-M')?.available === 6, { timeoutMs: 15_000 });

      const ready = await http.get('/health/ready');
      expect(ready.body.checks.messaging).toMatchObject({ ready: true, detail: { bus: 'kafka', connected: true } });
    });

    it('applies a command sent on inventory.commands.v1, answers it on the results topic, and appends once when it is sent twice', async () => {
      const store = app.app.get<EventStore>(EVENT_STORE);
      const command = { commandId: 'kafka-cmd-1', type: 'ReceiveStock', sku: 'MUG', receiptId: 'mug-r1', location: 'wh-1', quantity: 7 };
      await sendCommand(command, 'MUG', { 'correlation-id': 'erp-batch-3' });
      const [first] = await resultsFor('kafka-cmd-1');
      expect(first).toEqual({ commandId: 'kafka-cmd-1', status: 'accepted', result: { receiptId: 'mug-r1', location: 'wh-1', quantity: 7 }, position: expect.any(Number) });
      const streamAfterFirst = await store.readStream('inventory-sku-MUG');
      expect(streamAfterFirst.events).toHaveLength(1);
      expect(streamAfterFirst.events[0].metadata).toMatchObject({ actor: 'kafka:ledger-e2e', role: 'service', commandId: 'kafka-cmd-1', correlationId: 'erp-batch-3' });

      await sendCommand(command, 'MUG');
      const [, second] = await resultsFor('kafka-cmd-1', 2);
      expect(second).toEqual(first);
      expect((await store.readStream('inventory-sku-MUG')).currentRevision).toBe(streamAfterFirst.currentRevision);

      const refused = { commandId: 'kafka-cmd-2', type: 'SellStock', sku: 'MUG', saleId: 'mug-s1', channel: 'amazon', quantity: 99 };
      await sendCommand(refused, 'MUG');
      expect((await resultsFor('kafka-cmd-2'))[0]).toMatchObject({ status: 'rejected', code: 'INSUFFICIENT_STOCK' });
    });

    it('dead-letters malformed commands and still applies the good ones after them', async () => {
      const before = deadLetters().length;
      const bad = ['not json at all', '[]', JSON.stringify({ commandId: 'kafka-bad-1', type: 'ReceiveStock', sku: 'CAP', receiptId: 'c', location: 'wh-1', quantity: -3 })];
      for (const value of bad) await sendCommand(value, 'CAP');
      await sendCommand({ commandId: 'kafka-good-after', type: 'ReceiveStock', sku: 'CAP', receiptId: 'cap-r1', location: 'wh-1', quantity: 5 }, 'CAP');

      expect((await resultsFor('kafka-good-after'))[0]).toMatchObject({ status: 'accepted' });
      await eventually(() => deadLetters().length >= before + 3, { timeoutMs: 15_000 });
      const letters = deadLetters().slice(before);
      expect(letters.map((letter) => letter.value.reason)).toEqual(['not valid JSON', 'not a JSON object', 'validation failed']);
      letters.forEach((letter, index) => {
        expect(letter.key).toBe('CAP');
        expect(Buffer.from(letter.value.original, 'base64').toString()).toBe(bad[index]);
        expect(letter.value).toMatchObject({ topic: topics.commands, partition: expect.any(Number), offset: expect.stringMatching(/^\d+$/) });
      });
      expect(letters[2].value.fields).toEqual([expect.objectContaining({ field: 'quantity' })]);
      expect((await resultsFor('kafka-bad-1'))[0]).toMatchObject({ status: 'rejected', code: 'VALIDATION_FAILED' });
    });

    it('after the relays were stopped for 1,000 changes, delivers every one on restart, in order per key, and consumers end equal to the projection', async () => {
      const availabilityRelay = app.app.get(AvailabilityRelay);
      const ledgerRelay = app.app.get(LedgerRelay);
      const projections = app.app.get(ProjectionManager);
      await eventually(async () => (await availabilityRelay.status()).lagPositions === 0 && (await ledgerRelay.status()).lagPositions === 0, { timeoutMs: 15_000 });
      await Promise.all([availabilityRelay.stop(), ledgerRelay.stop()]);
      const stoppedAt = availabilityRelay.pruneFloor();
      const ledgerStoppedAt = (await ledgerRelay.status()).checkpoint ?? 0;

      // 1,000 receipts over 20 SKUs; each moves both channels' counts (2,000 availability changes).
      const skus = Array.from({ length: 20 }, (_, index) => `BULK-${index}`);
      let last = 0;
      for (let round = 0; round < 50; round++) {
        const answers = await Promise.all(skus.map((sku) => http.post(`/v1/skus/${sku}/receipts`, { receiptId: `bulk-${round}`, location: 'wh-1', quantity: 1 + (round % 3) })));
        for (const answer of answers) {
          expect(answer.status).toBe(201);
          last = Math.max(last, answer.body.position);
        }
      }
      expect((await http.get(`/v1/skus/BULK-0/availability?minPosition=${last}`)).status).toBe(200);
      const stoppedStatus = await availabilityRelay.status();
      expect(stoppedStatus).toMatchObject({ state: 'stopped', checkpoint: stoppedAt });
      expect(stoppedStatus.lagPositions).toBeGreaterThanOrEqual(1_000);
      const metrics = await http.get('/metrics');
      expect(metrics.text).toMatch(/ledger_relay_lag_positions\{relay="availability"\} [1-9]\d{3}/);

      const log = projections.availability().changesAfter(stoppedAt);
      const expected = [...(log ?? [])];
      expect(expected).toHaveLength(2_000);
      const seen = availability().length;
      const ledgerSeen = ledger().length;

      ledgerRelay.start();
      availabilityRelay.start();
      await eventually(() => availability().length >= seen + expected.length && ledger().length >= ledgerSeen + 1_000, { timeoutMs: 30_000 });

      // Every change arrived, once, and per key in the change log's order.
      const arrived = availability().slice(seen);
      expect(arrived).toHaveLength(expected.length);
      const sequence = (changes: { key: string; position: number; revision: number; available: number }[]) => {
        const byKey = new Map<string, string[]>();
        for (const change of changes) byKey.set(change.key, [...(byKey.get(change.key) ?? []), `${change.revision}@${change.position}=${change.available}`]);
        return byKey;
      };
      expect(sequence(arrived.map((message) => ({ key: message.key, ...message.value })))).toEqual(
        sequence(expected.map((change) => ({ key: `${change.channel}:${change.sku}`, ...change }))),
      );
      // The ledger topic, too: each SKU's events once, revisions in order.
      const events = ledger().slice(ledgerSeen).filter((message) => message.value.position > ledgerStoppedAt);
      expect(events).toHaveLength(1_000);
      for (const sku of skus) expect(events.filter((message) => message.key === sku).map((message) => message.value.revision)).toEqual([...Array(50).keys()]);

      await eventually(() => skus.every((sku) => connectorStore.get(sku)?.position === projections.availability().forSku(sku).find((row) => row.channel === 'amazon')?.position), { timeoutMs: 15_000 });
      expectConsumersEqualProjection();
    }, 60_000);

    it('a crash after Kafka acknowledged but before the checkpoint was stored causes only duplicates, which the revision rule absorbs', async () => {
      const availabilityRelay = app.app.get(AvailabilityRelay);
      const checkpoints = app.app.get(RelayCheckpointStore);
      const log = () => app.app.get(ProjectionManager).availability();
      await eventually(async () => (await availabilityRelay.status()).lagPositions === 0, { timeoutMs: 15_000 });
      const seen = availability().length;
      const before = checkpoints.load('availability') as number;
      const copies = () => {
        const count = new Map<string, number>();
        for (const { key, value } of availability().slice(seen)) count.set(`${key}@${value.position}`, (count.get(`${key}@${value.position}`) ?? 0) + 1);
        return count;
      };
      const total = () => [...copies().values()].reduce((sum, n) => sum + n, 0);
      const skus = ['TEE-M', 'MUG', 'CAP', 'BULK-1', 'BULK-2'];
      const connectorCaughtUp = () => skus.every((sku) => connectorStore.get(sku)?.position === log().forSku(sku).find((row) => row.channel === 'amazon')?.position);

      // 1. The availability relay's next checkpoint write fails after Kafka acknowledged the send (as a
      //    kill between the two would): it goes back to its stored checkpoint and sends that stretch again.
      const save = checkpoints.save.bind(checkpoints);
      let failed = false;
      const spy = jest.spyOn(checkpoints, 'save').mockImplementation((name, position) => {
        if (name === 'availability' && !failed) {
          failed = true;
          throw new Error('killed before the checkpoint was stored (simulated)');
        }
        save(name, position);
      });
      const answers = await Promise.all(
        skus.map((sku, index) => http.post(`/v1/skus/${sku}/adjustments`, { adjustmentId: `crash-${index}`, location: 'wh-1', delta: -1, reason: 'damage' })),
      );
      for (const answer of answers) expect(answer.status).toBe(201);
      const last = Math.max(...answers.map((answer) => answer.body.position));
      await eventually(() => checkpoints.load('availability') === last, { timeoutMs: 15_000 });
      spy.mockRestore();
      expect(failed).toBe(true);
      const stretch = [...(log().changesAfter(before) ?? [])].map((change) => `${change.channel}:${change.sku}@${change.position}`);
      expect(stretch).toHaveLength(10);
      // Every change arrived; the ones sent before the failed write arrived twice.
      await eventually(() => stretch.every((change) => copies().has(change)) && total() > stretch.length, { timeoutMs: 15_000 });
      expect([...copies().keys()].sort()).toEqual([...stretch].sort());
      await eventually(connectorCaughtUp, { timeoutMs: 15_000 });
      expectConsumersEqualProjection();

      // 2. The same on a larger stretch: the stored checkpoint is rewound (a restored backup, say).
      const staleBefore = connector.stats.stale;
      const sentBefore = total();
      await availabilityRelay.stop();
      checkpoints.save('availability', before);
      availabilityRelay.start();
      await eventually(() => total() >= sentBefore + stretch.length && checkpoints.load('availability') === last, { timeoutMs: 15_000 });
      await eventually(() => connector.stats.stale >= staleBefore + stretch.filter((change) => change.startsWith('amazon:')).length, { timeoutMs: 15_000 });
      expect(connectorCaughtUp()).toBe(true);
      expectConsumersEqualProjection();
    });

    it("the connector app with CONNECTOR_SOURCE=kafka (its env, its KafkaBus) follows inventory.availability.v1 to the projection's counts", async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'connector-kafka-'));
      const env = kafka().appEnv(prefix);
      const config = loadConnectorConfig({
        ...env,
        CONNECTOR_CHANNEL: 'amazon',
        CONNECTOR_KIND: 'log',
        CONNECTOR_SOURCE: 'kafka',
        CONNECTOR_PORT: '0',
        CONNECTOR_HOST: '127.0.0.1',
        CONNECTOR_DATA_DIR: dataDir,
        LEDGER_URL: app.url,
        KAFKA_GROUP_ID: `${prefix}connector-app`,
      });
      const running = await Connector.start(config, { logger: quietLogger });
      try {
        const rows = projected().filter((row) => row.channel === 'amazon');
        expect(rows.length).toBeGreaterThan(20);
        await eventually(() => rows.every((row) => running.store.state(row.sku)?.desired.available === row.available), { timeoutMs: 30_000 });
        // And a change made now reaches it through Kafka.
        const answer = await http.post('/v1/skus/TEE-M/receipts', { receiptId: 'connector-app-1', location: 'wh-1', quantity: 3 });
        expect(answer.status).toBe(201);
        const after = () => projected().find((row) => row.channel === 'amazon' && row.sku === 'TEE-M')!;
        await eventually(() => after().position >= answer.body.position && running.store.state('TEE-M')?.desired.available === after().available, { timeoutMs: 30_000 });
      } finally {
        await running.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    itOnRealKafka(kind, 'topic settings')('the topics carry deploy/kafka/topics.txt\'s settings, as create-topics.sh made them', async () => {
      const admin = await connectedAdmin();
      const settings = readTopicSettings();
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: Object.values(topics).map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
      });
      for (const [base, wanted] of Object.entries(settings.configs)) {
        const resource = described.resources.find((candidate) => candidate.resourceName === `${prefix}${base}`);
        const actual = Object.fromEntries((resource?.configEntries ?? []).map((entry) => [entry.configName, entry.configValue]));
        // One broker here: replication 1 and min.insync.replicas=1 (create-topics.sh's overrides for small clusters).
        const expected = { ...wanted, 'min.insync.replicas': '1' };
        expect({ topic: base, settings: pick(actual, Object.keys(expected)) }).toEqual({ topic: base, settings: expected });
      }
      const metadata = await admin.fetchTopicMetadata({ topics: Object.values(topics) });
      for (const topic of metadata.topics) expect({ topic: topic.name, partitions: topic.partitions.length }).toEqual({ topic: topic.name, partitions: kafka().partitions });
    });

    // Last: it makes the availability topic roll segments and clean at once, which the tests above must not see.
    itOnRealKafka(kind, 'log compaction')('compacts inventory.availability.v1: after the cleaner ran, each key keeps one message, its newest count', async () => {
      const admin = await connectedAdmin();
      const availabilityRelay = app.app.get(AvailabilityRelay);
      await eventually(async () => (await availabilityRelay.status()).lagPositions === 0, { timeoutMs: 15_000 });
      const sent = availability().length;
      // AlterConfigs replaces a topic's settings: keep those it has and add short segments and a
      // cleaner that acts on any dirt, so compaction shows within the test (production keeps the defaults).
      const [current] = (await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topics.availability }] })).resources;
      const own = current.configEntries.filter((entry) => !entry.isDefault).map((entry) => ({ name: entry.configName, value: entry.configValue }));
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topics.availability, configEntries: [...own.filter((entry) => !['segment.ms', 'min.cleanable.dirty.ratio'].includes(entry.name)), { name: 'segment.ms', value: '100' }, { name: 'min.cleanable.dirty.ratio', value: '0.01' }] }],
      });
      // More changes to keys that already have many (every BULK SKU), then a tombstone on every
      // partition once segment.ms has passed: the append rolls the segment, which the cleaner may then compact.
      for (let round = 0; round < 3; round++) {
        const answers = await Promise.all(Array.from({ length: 20 }, (_, index) => http.post(`/v1/skus/BULK-${index}/receipts`, { receiptId: `compaction-${round}`, location: 'wh-1', quantity: 1 })));
        for (const answer of answers) expect(answer.status).toBe(201);
      }
      await eventually(async () => (await availabilityRelay.status()).lagPositions === 0, { timeoutMs: 15_000 });
      await new Promise((done) => setTimeout(done, 300));
      await producer.send({ topic: topics.availability, acks: -1, messages: Array.from({ length: kafka().partitions }, (_, partition) => ({ key: ROLL_KEY, value: null, partition })) });
      expect(availability().length).toBeGreaterThan(sent);

      const rows = projected();
      let lastRead: Map<string, AvailabilityMessage[]> = new Map();
      await eventually(
        async () => {
          lastRead = await readFromBeginning(client, topics.availability);
          return rows.every((row) => lastRead.get(`${row.channel}:${row.sku}`)?.length === 1);
        },
        { timeoutMs: 60_000, intervalMs: 1_000 },
      ).catch((error) => {
        const counts = Object.fromEntries([...lastRead].map(([key, values]) => [key, values.length]));
        throw new Error(`${(error as Error).message}: messages per key after compaction ${JSON.stringify(counts)}`);
      });
      // Every key kept exactly its newest count, equal to the projection; the history before it is gone.
      for (const row of rows) {
        expect({ key: `${row.channel}:${row.sku}`, kept: lastRead.get(`${row.channel}:${row.sku}`)?.map((value) => value.available) }).toEqual({ key: `${row.channel}:${row.sku}`, kept: [row.available] });
      }
      expect(rows.length).toBeLessThan(availability().length / 10);
    }, 90_000);
  });
});

function pick(values: Record<string, string>, names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, values[name]]));
}

/** The availability values of the topic by key, as a new reader finds them (the roll tombstones left out). */
async function readFromBeginning(client: Kafka, topic: string): Promise<Map<string, AvailabilityMessage[]>> {
  const byKey = new Map<string, AvailabilityMessage[]>();
  for (const { key, value } of await readWholeTopic(client, topic)) {
    if (key !== null && key !== ROLL_KEY && value) byKey.set(key, [...(byKey.get(key) ?? []), JSON.parse(value.toString())]);
  }
  return byKey;
}
