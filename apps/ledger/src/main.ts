import 'reflect-metadata';
import { ConfigError, loadConfig } from '@ledger/platform';
import { bootstrapLogger, createApp } from './bootstrap';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp({ config });
  await app.listen(config.port, config.host);
  const store = config.eventStore.kind === 'sqlite' ? `embedded store at ${config.eventStore.path}` : 'EventStoreDB';
  bootstrapLogger.log(`inventory ledger listening on http://${config.host}:${config.port} (${store}); API docs at /docs`);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(error);
  process.exit(1);
});
