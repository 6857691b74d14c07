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
});
