import { describeWithKafkaMock } from '@test/kafka-mock';
import { CONTRACT_HANDLER_RETRY, describeMessageBusContract, RecordingLogger } from '../testing/message-bus.contract';
import { KafkaBus } from './kafka-bus';

describeWithKafkaMock('KafkaBus on the librdkafka mock cluster', (mock) => {
  describeMessageBusContract('Kafka', async () => {
    const logger = new RecordingLogger();
    const bus = new KafkaBus({
      clientId: 'bus-contract',
      brokers: mock().brokers,
      // The mock cluster can do neither; production keeps the defaults (on, off).
      idempotent: false,
      allowAutoTopicCreation: true,
      logger,
      logLevel: 'warn',
      // The mock delays a rejoin by the session timeout less a second: keep it short.
      consumer: { sessionTimeoutMs: 3_000, heartbeatIntervalMs: 300, maxWaitTimeMs: 100 },
      handlerRetry: CONTRACT_HANDLER_RETRY,
    });
    await bus.connect();
    return { bus, logger, teardown: () => bus.close() };
  });
});
