/**
 * What Kafka transactions would cost the relays, on the test broker (test/support/kafka-broker):
 * the same batches of ledger-sized messages sent by the idempotent producer the relays use, and by a
 * transactional one (a transaction per batch, as a relay would need to commit a batch atomically).
 *
 *   node -r ./bench/support/register.js bench/kafka-transactions.ts [batches=200] [batchSize=500]
 */
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { startKafkaCluster } from '@test/kafka-broker';

const [batches, batchSize] = [Number(process.argv[2] ?? 200), Number(process.argv[3] ?? 500)];
const VALUE = JSON.stringify({ eventId: 'x'.repeat(36), type: 'inventory.stock-reserved.v1', data: { reservationId: 'r'.repeat(20), quantity: 1 }, metadata: { hash: 'h'.repeat(64), prevHash: 'h'.repeat(64) }, pad: 'p'.repeat(300) });

async function measure(label: string, producer: Producer, send: (messages: { key: string; value: string }[]) => Promise<unknown>): Promise<void> {
  await producer.connect();
  const batch = (round: number) => Array.from({ length: batchSize }, (_, index) => ({ key: `SKU-${(round * batchSize + index) % 997}`, value: VALUE }));
  await send(batch(0));
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let round = 1; round <= batches; round++) await send(batch(round));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  const messages = batches * batchSize;
  console.log(`${label}: ${Math.round(messages / seconds)} messages/s, ${((seconds / batches) * 1000).toFixed(1)} ms a batch of ${batchSize}, ${(((cpu.user + cpu.system) / messages)).toFixed(1)} µs client CPU a message`);
  await producer.disconnect();
}

(async () => {
  const cluster = await startKafkaCluster({ nodes: 1 });
  try {
    const kafka = new Kafka({ clientId: 'bench', brokers: cluster.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'bench', numPartitions: 12 }] });
    await admin.disconnect();
    console.log(`${cluster.label}; ${batches} batches of ${batchSize} messages of ${VALUE.length} bytes to 12 partitions`);
    const options = { idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner };
    const idempotent = kafka.producer(options);
    await measure('idempotent, acks=all (the relays today)', idempotent, (messages) => idempotent.send({ topic: 'bench', acks: -1, messages }));
    const transactional = kafka.producer({ ...options, transactionalId: 'bench-relay' });
    await measure('transactional, one transaction a batch', transactional, async (messages) => {
      const transaction = await transactional.transaction();
      await transaction.send({ topic: 'bench', acks: -1, messages });
      await transaction.commit();
    });
  } finally {
    await cluster.shutdown();
  }
})();
