import type { KafkaBusConfig } from '@ledger/bus';

export type ConnectorKind = 'shopify' | 'amazon' | 'flipkart' | 'log';

/** One connector's settings, validated once at start (apps/connector/src/config.ts reads them from env). */
export interface ConnectorConfig {
  /** The ledger channel it mirrors. */
  channel: string;
  kind: ConnectorKind;
  source: 'kafka' | 'sse';
  host: string;
  port: number;
  /** Where connector-<channel>.db lives. */
  dataDir: string;
  ledgerUrl: string;
  ledgerToken: string | null;
  /** Bearer token for POST /admin/reconcile and /admin/resync; none: those routes answer 404. */
  adminToken: string | null;
  listingsRefreshMs: number;
  /** 0: only on demand. */
  reconcileIntervalMs: number;
  /** How long a channel may show less than the connector set before it is raised (see Reconciler). */
  belowGraceMs: number;
  lowStockMark: number;
  orderTtlSeconds: number | null;
  kafka: { bus: KafkaBusConfig; topic: string; groupId: string } | null;
  shopify: { adminUrl: string; accessToken: string; apiVersion: string; webhookSecret: string; batchSize: number } | null;
  amazon: {
    spApiUrl: string;
    sellerId: string;
    marketplaceId: string;
    lwaUrl: string;
    clientId: string;
    clientSecret: string;
    refreshToken: string;
    feedThreshold: number;
    feedsPerWindow: number;
    feedWindowMs: number;
    patchRate: { ratePerSecond: number; burst: number };
    settleMs: number;
  } | null;
  flipkart: { apiUrl: string; clientId: string; clientSecret: string; pollIntervalMs: number; rate: { ratePerSecond: number; burst: number } } | null;
}
