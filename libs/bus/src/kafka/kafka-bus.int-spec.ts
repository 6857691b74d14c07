import { randomUUID } from 'node:crypto';
import { describeWithKafka } from '@test/kafka';
import { CONTRACT_HANDLER_RETRY, describeMessageBusContract, RecordingLogger } from '../testing/message-bus.contract';
import { KafkaBus } from './kafka-bus';

describeWithKafka('KafkaBus', {}, (kafka) => {
  const newBus = (logger: RecordingLogger, extra: Partial<ConstructorParameters<typeof KafkaBus>[0]> = {}) =>
    new KafkaBus({
      clientId: 'bus-contract',
      ...kafka().busConfig,
      logger,
      logLevel: 'warn',
      handlerRetry: CONTRACT_HANDLER_RETRY,
      ...extra,
    });

  describeMessageBusContract('Kafka', async () => {
    const logger = new RecordingLogger();
    const bus = newBus(logger);
    await bus.connect();
    return { bus, logger, createTopics: (topics) => kafka().createTopics(topics), teardown: () => bus.close() };
  });

  describe('a bounded close', () => {
    it('stops a subscription whose handler never resolves, after closeTimeoutMs, and cuts its connections', async () => {
      const logger = new RecordingLogger();
      const bus = newBus(logger, { closeTimeoutMs: 500 });
      await bus.connect();
      const topic = `bounded-close.${randomUUID()}`;
      await kafka().createTopics([topic]);
      let entered!: () => void;
      const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
      await bus.subscribe({
        groupId: `bounded-close.${randomUUID()}`,
        topics: [topic],
        fromBeginning: true,
        // A handler stuck for good (say, on a store that never answers): kafkajs alone would wait on it forever.
        handler: () => {
          entered();
          return new Promise<void>(() => undefined);
        },
      });
      await bus.publish([{ topic, key: 'k', value: 'v' }]);
      await handlerEntered;

      await bus.close();
      expect(bus.isHealthy()).toBe(false);
      expect(logger.warnings.filter((line) => line.includes('did not stop'))).toEqual([expect.stringMatching(/did not stop within 500 ms.*connections were cut/)]);
      await expect(bus.subscribe({ groupId: 'after-close', topics: [topic], handler: async () => undefined })).rejects.toThrow('closed');
    });
  });
});
