import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { KafkaBus, topicNames } from '@ledger/bus';
import { AvailabilityConsumer, HttpMarketplaceAdapter, LoggingChannelAdapter, type ChannelAdapter } from '@ledger/connector';
import { loadConnectorConfig } from './config';

/**
 * Example connector: mirrors one channel's availability from Kafka into a marketplace (or the log).
 * See apps/connector/README.md.
 */
async function main(): Promise<void> {
  const logger = new Logger('Connector');
  const config = loadConnectorConfig();
  const bus = new KafkaBus(config.kafka);
  const adapter: ChannelAdapter = config.marketplace
    ? new HttpMarketplaceAdapter({ baseUrl: config.marketplace.url, token: config.marketplace.token, requestsPerSecond: config.marketplace.requestsPerSecond })
    : new LoggingChannelAdapter(config.channel);
  const consumer = new AvailabilityConsumer({
    bus,
    topic: topicNames(config.topicPrefix).availability,
    channel: config.channel,
    adapter,
    groupId: config.groupId,
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: stopping`);
    await consumer.stop();
    await bus.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  await bus.connect();
  // The in-memory store starts empty: seed it with the ledger's current counts, so stale messages
  // replayed from the topic are recognised as such.
  if (config.ledgerUrl) await consumer.resync(config.ledgerUrl, config.ledgerToken);
  await consumer.start();
  logger.log(`mirroring channel ${config.channel} (group ${config.groupId})`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
