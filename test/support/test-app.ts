import type { INestApplication } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { EventStore } from '@ledger/event-store';
import { loadConfig, type Clock, type LedgerConfig } from '@ledger/platform';
import { createApp } from '@app/ledger/bootstrap';

export interface TestApp {
  app: INestApplication;
  /** http://127.0.0.1:<port> */
  url: string;
  config: LedgerConfig;
  dataDir: string;
  /** Stops the app; `keepData` leaves the data directory for a restart. */
  close(options?: { keepData?: boolean }): Promise<void>;
}

export interface TestAppOptions {
  /** Environment on top of a fresh data directory, as the service would read it. */
  env?: Record<string, string>;
  dataDir?: string;
  clock?: Clock;
  eventStore?: EventStore;
}

/** Starts the real app on a random loopback port with its own data directory. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'ledger-e2e-'));
  const config = loadConfig({ LEDGER_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'error', ...options.env });
  const app = await createApp({ config, clock: options.clock, eventStore: options.eventStore }, { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    config,
    dataDir,
    async close({ keepData = false } = {}) {
      await app.close();
      if (!keepData && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
