import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectorConfig } from '@ledger/connector';

export const quietLogger = { log: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined, verbose: () => undefined };

export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'connector-e2e-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A connector configuration for tests: loopback, port 0, no schedules unless asked. */
export function connectorConfig(overrides: Partial<ConnectorConfig> & Pick<ConnectorConfig, 'channel' | 'kind' | 'ledgerUrl' | 'dataDir'>): ConnectorConfig {
  return {
    source: 'sse',
    host: '127.0.0.1',
    port: 0,
    ledgerToken: null,
    adminToken: 'admin-token-123456',
    listingsRefreshMs: 0,
    reconcileIntervalMs: 0,
    belowGraceMs: 900_000,
    lowStockMark: 5,
    orderTtlSeconds: null,
    kafka: null,
    shopify: null,
    amazon: null,
    flipkart: null,
    ...overrides,
  };
}

export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`${what} not met in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A deterministic burst: `changes` counts spread over `skus` SKUs; returns the final count per SKU. */
export function burst(skus: number, changes: number, emit: (sku: string, available: number) => void): Map<string, number> {
  const last = new Map<string, number>();
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let index = 0; index < changes; index++) {
    const sku = `SKU-${String(Math.floor(random() * skus)).padStart(4, '0')}`;
    const available = Math.floor(random() * 40);
    emit(sku, available);
    last.set(sku, available);
  }
  return last;
}
