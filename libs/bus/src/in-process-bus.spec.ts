import { InProcessBus } from './in-process-bus';
import { CONTRACT_HANDLER_RETRY, describeMessageBusContract, RecordingLogger } from './testing/message-bus.contract';

describeMessageBusContract('in-process', async () => {
  const logger = new RecordingLogger();
  const bus = new InProcessBus({ logger, handlerRetry: CONTRACT_HANDLER_RETRY });
  await bus.connect();
  return { bus, logger, teardown: () => bus.close() };
});

describe('InProcessBus', () => {
  it('refuses a second subscriber in one group, which it could not share partitions with', async () => {
    const bus = new InProcessBus({ logger: new RecordingLogger() });
    await bus.connect();
    const subscribe = () => bus.subscribe({ groupId: 'projector', topics: ['inventory.ledger.v1'], handler: async () => undefined });
    await subscribe();
    await expect(subscribe()).rejects.toThrow('already has a subscriber');
    await bus.close();
  });

  it('refuses to publish before connect', async () => {
    const bus = new InProcessBus();
    await expect(bus.publish([{ topic: 't', key: 'k', value: 'v' }])).rejects.toThrow('not connected');
  });

  it('keeps a bounded number of messages per partition, and a group behind retention resumes at the oldest kept', async () => {
    const bus = new InProcessBus({ partitionsPerTopic: 1, retainPerPartition: 10, logger: new RecordingLogger() });
    await bus.connect();
    await bus.publish(Array.from({ length: 100 }, (_, i) => ({ topic: 't', key: 'k', value: String(i) })));
    const seen: string[] = [];
    const subscription = await bus.subscribe({ groupId: 'late', topics: ['t'], fromBeginning: true, handler: async (m) => void seen.push(String(m.value)) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await subscription.stop();
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => String(90 + i)));
    await bus.close();
  });
});
