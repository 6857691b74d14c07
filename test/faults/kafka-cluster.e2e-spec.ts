import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { KafkaBus, topicNames } from '@ledger/bus';
import { EVENT_STORE, type EventStore } from '@ledger/event-store';
import { ProjectionManager } from '@ledger/projections';
import { AvailabilityRelay, LedgerRelay, type AvailabilityMessage, type LedgerEventMessage } from '@ledger/relay';
import { eventually } from '@ledger/relay/testing/fixtures';
import { createClient, type HttpClient } from '@test/http';
import { describeWithKafka, type TestKafka } from '@test/kafka';
import { readWholeTopic } from '@test/kafka/read-topic';
import { startTestApp, type TestApp } from '@test/test-app';

/**
 * The production topology on loopback: three combined KRaft nodes, topics with replication 3 and
 * min.insync.replicas=2 (deploy/kafka/topics.txt), the relays' producer with acks=all and
 * idempotence. One broker, the leader of the ledger topic's first partition, is killed (SIGKILL)
 * while the relays carry a load: nothing Kafka acknowledged may be lost, because a relay moves its
 * checkpoint only after the acknowledgement and so never sends an acknowledged stretch again.
 */
describeWithKafka('relays on a three-broker cluster, one broker killed under load', { nodes: 3, outage: true }, (testKafka) => {
  jest.setTimeout(120_000);
  const prefix = `cluster-${randomUUID().slice(0, 8)}.`;
  let kafka: TestKafka;
  let app: TestApp;
  let http: HttpClient;
  let client: Kafka;

  beforeAll(async () => {
    kafka = testKafka();
    await kafka.createLedgerTopics(prefix);
    app = await startTestApp({ env: { ...kafka.appEnv(prefix), KAFKA_CLIENT_ID: 'ledger-cluster', KAFKA_GROUP_ID: `${prefix}ledger` } });
    http = createClient(app.url, { maxSockets: 16 });
    expect((await http.put('/v1/channels/web', { locations: ['wh-1'] })).status).toBe(200);
    client = kafka.client('cluster-probe');
  }, 120_000);

  afterAll(async () => {
    http?.close();
    await app?.close();
  }, 60_000);

  it('acks=all with min.insync.replicas=2: every ledger event and availability change ends on its topic, in per-key order', async () => {
    const topics = topicNames(prefix);
    const admin = client.admin();
    await admin.connect();
    const metadata = await admin.fetchTopicMetadata({ topics: [topics.ledger] });
    for (const partition of metadata.topics[0].partitions) expect(partition.replicas).toHaveLength(3);
    const victim = metadata.topics[0].partitions.find((partition) => partition.partitionId === 0)!.leader;

    const skus = Array.from({ length: 12 }, (_, index) => `CL-${index}`);
    for (const sku of skus) expect((await http.post(`/v1/skus/${sku}/receipts`, { receiptId: 'rc-0', location: 'wh-1', quantity: 1_000_000 })).status).toBe(201);
    const statuses = new Map<number, number>();
    let stop = false;
    let n = 0;
    const workers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const id = ++n;
        const answer = await http.post(`/v1/skus/${skus[id % skus.length]}/reservations`, { reservationId: `cl-${id}`, channel: 'web', quantity: 1 });
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      }
    });
    const relayed = async () => (await app.app.get(LedgerRelay).status()).checkpoint ?? 0;
    await eventually(async () => (await relayed()) > 300, { timeoutMs: 30_000 });
    const acknowledgedBeforeKill = await relayed();
    await kafka.cluster!.kill(victim);
    // The load goes on while the cluster elects new leaders and shrinks the ISR to the two left.
    const killedAt = n;
    await eventually(() => n > killedAt + 500, { timeoutMs: 30_000 });
    stop = true;
    await Promise.all(workers);
    expect([...statuses.keys()]).toEqual([201]);

    // Caught up with one broker still down: two in-sync replicas take acks=all writes.
    const ledgerRelay = app.app.get(LedgerRelay);
    const availabilityRelay = app.app.get(AvailabilityRelay);
    await eventually(async () => (await ledgerRelay.status()).lagPositions === 0 && (await availabilityRelay.status()).lagPositions === 0, { timeoutMs: 60_000 });

    // Read back from the two survivors: every event of the store, first arrivals in revision order per SKU.
    const store = app.app.get<EventStore>(EVENT_STORE);
    const ledgerRecords = (await readWholeTopic(client, topics.ledger)).map((record) => JSON.parse(record.value!.toString()) as LedgerEventMessage);
    const positions = new Set(ledgerRecords.map((event) => event.position));
    let events = 0;
    for (const sku of skus) {
      const stream = (await store.readStream(`inventory-sku-${sku}`)).events;
      events += stream.length;
      const missing = stream.filter((event) => !positions.has(event.position)).map((event) => event.position);
      expect({ sku, missing }).toEqual({ sku, missing: [] });
      const firstArrivals: number[] = [];
      for (const event of ledgerRecords.filter((record) => record.sku === sku)) if (event.revision > (firstArrivals.at(-1) ?? -1)) firstArrivals.push(event.revision);
      expect({ sku, firstArrivals }).toEqual({ sku, firstArrivals: stream.map((event) => event.revision) });
    }
    expect(events).toBeGreaterThan(acknowledgedBeforeKill / 2);
    expect(Math.max(...positions)).toBeGreaterThan(acknowledgedBeforeKill);

    // The availability topic too: the newest (revision, position) per key is the projection's.
    const newest = new Map<string, AvailabilityMessage>();
    for (const record of await readWholeTopic(client, topics.availability)) {
      const value = JSON.parse(record.value!.toString()) as AvailabilityMessage;
      const known = newest.get(record.key!);
      if (!known || value.revision > known.revision || (value.revision === known.revision && value.position > known.position)) newest.set(record.key!, value);
    }
    for (const row of app.app.get(ProjectionManager).availability().all()) {
      expect({ key: `${row.channel}:${row.sku}`, available: newest.get(`${row.channel}:${row.sku}`)?.available }).toEqual({ key: `${row.channel}:${row.sku}`, available: row.available });
    }

    // The killed broker comes back and every partition is replicated three times again.
    await kafka.cluster!.start(victim);
    await eventually(
      async () => {
        const { topics: [described] } = await admin.fetchTopicMetadata({ topics: [topics.ledger] });
        return described.partitions.every((partition) => partition.isr.length === 3);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await admin.disconnect();
  });

  it('the bus alone: batches across partitions while the leader of one is killed, and every acknowledged message is on the topic', async () => {
    // kafkajs 2.2.4 alone resolved such a batch without sending the partitions that moved to a broker
    // which had already answered (8 of 4,140 messages lost here); KafkaBus.publish checks and resends.
    const topic = `${prefix}bus-failover`;
    await kafka.createTopics([topic]);
    const admin = client.admin();
    await admin.connect();
    const victim = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions.find((partition) => partition.partitionId === 0)!.leader;
    await admin.disconnect();
    const warnings: string[] = [];
    const bus = new KafkaBus({ clientId: 'cluster-bus', ...kafka.busConfig, logger: { log: () => undefined, error: () => undefined, warn: (line: string) => void warnings.push(line) }, logLevel: 'warn' });
    await bus.connect();
    let acknowledged = 0;
    let stop = false;
    const sender = (async () => {
      while (!stop) {
        // Keys spread over every partition, so each batch goes to all three leaders.
        const batch = Array.from({ length: 30 }, (_, index) => ({ topic, key: `key-${index}`, value: String(acknowledged + index) }));
        await bus.publish(batch);
        acknowledged += batch.length;
      }
    })();
    await eventually(() => acknowledged > 1_000, { timeoutMs: 30_000 });
    await kafka.cluster!.kill(victim);
    const killedAt = acknowledged;
    await eventually(() => acknowledged > killedAt + 3_000, { timeoutMs: 60_000 });
    stop = true;
    await sender;
    await bus.close();

    const values = new Set((await readWholeTopic(client, topic)).map((record) => Number(record.value!.toString())));
    const lost = Array.from({ length: acknowledged }, (_, value) => value).filter((value) => !values.has(value));
    expect({ acknowledged, lost }).toEqual({ acknowledged, lost: [] });
    await kafka.cluster!.start(victim);
  });
});
