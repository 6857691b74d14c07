import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { Connector } from '@ledger/connector';
import { loadConnectorConfig } from './config';

/** One connector: one ledger channel mirrored to one channel account (apps/connector/README.md). */
async function main(): Promise<void> {
  const logger = new Logger('Connector');
  const config = loadConnectorConfig();
  const connector = await Connector.start(config, { logger });
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: stopping`);
    await connector.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
