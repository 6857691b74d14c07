import { KafkaBus } from './kafka-bus';

describe('KafkaBus', () => {
  it('given no broker answering, fails to connect, stays unhealthy and logs why through the given logger', async () => {
    const logger = { log: jest.fn(), warn: jest.fn(), error: jest.fn(), debug: jest.fn() };
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const bus = new KafkaBus({ clientId: 'spec', brokers: ['127.0.0.1:1'], logger, logLevel: 'error', retry: { retries: 0 } });

    await expect(bus.connect()).rejects.toThrow();
    expect(bus.isHealthy()).toBe(false);
    expect(logger.error).toHaveBeenCalledWith(expect.stringMatching(/^Connection: .*ECONNREFUSED/));
    expect(logger.log).not.toHaveBeenCalled();
  });
});
