import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';

export interface TopicRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
}

/**
 * Every record of a topic, from its beginning to the end it has now, read by a new consumer group:
 * what a new reader would find (after compaction, after a broker's death...). In partition order.
 */
export async function readWholeTopic(client: Kafka, topic: string): Promise<TopicRecord[]> {
  const admin = client.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const last = new Map(ends.filter((end) => end.high !== end.low).map((end) => [end.partition, BigInt(end.high) - 1n]));
  const records: TopicRecord[] = [];
  if (last.size === 0) return records;
  const consumer = client.consumer({ groupId: `read-whole-topic-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            records.push({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value });
            if (last.has(partition) && BigInt(message.offset) >= last.get(partition)!) last.delete(partition);
            if (last.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}
