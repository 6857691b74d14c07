import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tokenName } from '@ledger/platform';
import { createClient, readLedger, type HttpClient, type HttpResponse } from '../support/http';
import { startTestApp, type TestApp } from '../support/test-app';

const TOKENS = {
  ops: 'ops-Zq8vK2mN4pR7tW1x',
  service: 'svc-Hb5cJ9dL3fG6kM0y',
  auditor: 'aud-Xe2rT7uY4iO8pA1s',
};
const WRONG = 'zzz-Wrong0Token0But0Long0Enough';
type Identity = 'none' | 'wrong' | 'auditor' | 'service' | 'ops';
const IDENTITIES: Identity[] = ['none', 'wrong', 'auditor', 'service', 'ops'];
const tokenOf = (identity: Identity): string | null => (identity === 'none' ? null : identity === 'wrong' ? WRONG : TOKENS[identity]);

const SKU = 'ACC-1';
const s = `/v1/skus/${SKU}`;

interface Route {
  name: string;
  method: 'GET' | 'POST' | 'PUT';
  /** The request for one identity: ids carry the identity so each allowed call is a first run. */
  request(who: Identity): { path: string; body?: unknown };
  /** The roles that may call it, and the status they get. */
  allowed: Partial<Record<Identity, number>>;
  /** The domain's code when the allowed answer is an error. */
  code?: string;
}

const COMMANDS = { ops: 1, service: 1 };
const READS = { ops: 1, service: 1, auditor: 1 };
const with_ = (roles: Record<string, number>, status: number) => Object.fromEntries(Object.keys(roles).map((role) => [role, status]));

const ROUTES: Route[] = [
  { name: 'POST receipts', method: 'POST', request: (who) => ({ path: `${s}/receipts`, body: { receiptId: `rc-${who}`, location: 'wh-1', quantity: 1 } }), allowed: with_(COMMANDS, 201) },
  { name: 'POST adjustments', method: 'POST', request: (who) => ({ path: `${s}/adjustments`, body: { adjustmentId: `adj-${who}`, location: 'wh-1', delta: 1, reason: 'correction' } }), allowed: with_(COMMANDS, 201) },
  { name: 'POST reservations', method: 'POST', request: (who) => ({ path: `${s}/reservations`, body: { reservationId: `res-${who}`, channel: 'web', quantity: 1 } }), allowed: with_(COMMANDS, 201) },
  { name: 'POST commit', method: 'POST', request: (who) => ({ path: `${s}/reservations/commit-${who}/commit` }), allowed: with_(COMMANDS, 200) },
  { name: 'POST release', method: 'POST', request: (who) => ({ path: `${s}/reservations/release-${who}/release`, body: { reason: 'cancelled' } }), allowed: with_(COMMANDS, 200) },
  { name: 'POST sales', method: 'POST', request: (who) => ({ path: `${s}/sales`, body: { saleId: `sale-${who}`, channel: 'web', quantity: 1 } }), allowed: with_(COMMANDS, 201) },
  { name: 'POST returns', method: 'POST', request: (who) => ({ path: `${s}/returns`, body: { returnId: `ret-${who}`, location: 'wh-1', quantity: 1 } }), allowed: with_(COMMANDS, 201) },
  { name: 'POST inspection', method: 'POST', request: (who) => ({ path: `${s}/returns/insp-${who}/inspection`, body: { restockQuantity: 1, writeOffQuantity: 0 } }), allowed: with_(COMMANDS, 200) },
  { name: 'PUT channel', method: 'PUT', request: (who) => ({ path: `/v1/channels/ch-${who}`, body: { locations: ['wh-1'] } }), allowed: { ops: 200 } },
  { name: 'GET sku', method: 'GET', request: () => ({ path: s }), allowed: with_(READS, 200) },
  { name: 'GET unknown sku', method: 'GET', request: () => ({ path: '/v1/skus/NO-SUCH-SKU' }), allowed: with_(READS, 404), code: 'SKU_NOT_FOUND' },
  { name: 'GET ledger', method: 'GET', request: () => ({ path: `${s}/ledger?limit=5` }), allowed: with_(READS, 200) },
  { name: 'GET channels', method: 'GET', request: () => ({ path: '/v1/channels' }), allowed: with_(READS, 200) },
  { name: 'GET sku availability', method: 'GET', request: () => ({ path: `${s}/availability` }), allowed: with_(READS, 200) },
  { name: 'GET channel availability', method: 'GET', request: () => ({ path: '/v1/channels/web/availability' }), allowed: with_(READS, 200) },
  { name: 'GET availability stream', method: 'GET', request: () => ({ path: `/v1/availability/stream?sku=${SKU}` }), allowed: with_(READS, 200) },
  { name: 'GET reservations', method: 'GET', request: () => ({ path: `/v1/reservations?sku=${SKU}` }), allowed: with_(READS, 200) },
  { name: 'GET returns', method: 'GET', request: () => ({ path: `/v1/returns?sku=${SKU}` }), allowed: with_(READS, 200) },
  { name: 'GET location stock', method: 'GET', request: () => ({ path: '/v1/locations/wh-1/stock' }), allowed: with_(READS, 200) },
  { name: 'GET balance', method: 'GET', request: () => ({ path: `${s}/balance?at=2100-01-01T00:00:00Z` }), allowed: with_(READS, 200) },
  { name: 'GET movements', method: 'GET', request: () => ({ path: `${s}/movements?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z` }), allowed: with_(READS, 200) },
  { name: 'GET stock report', method: 'GET', request: () => ({ path: '/v1/reports/stock?at=2100-01-01T00:00:00Z' }), allowed: with_(READS, 200) },
  { name: 'GET verify', method: 'GET', request: () => ({ path: `/v1/audit/verify?sku=${SKU}` }), allowed: with_(READS, 200) },
  { name: 'GET projections', method: 'GET', request: () => ({ path: '/v1/admin/projections' }), allowed: { ops: 200, auditor: 200 } },
  { name: 'POST projection rebuild', method: 'POST', request: () => ({ path: '/v1/admin/projections/returns/rebuild' }), allowed: { ops: 202 } },
  { name: 'POST unknown projection rebuild', method: 'POST', request: () => ({ path: '/v1/admin/projections/no-such/rebuild' }), allowed: { ops: 404 }, code: 'PROJECTION_NOT_FOUND' },
];

/** Every documented route, as OpenAPI names it: the grid must cover each one (metrics is undocumented). */
const DOCUMENTED: Record<string, string> = {
  'POST receipts': 'post /v1/skus/{sku}/receipts',
  'POST adjustments': 'post /v1/skus/{sku}/adjustments',
  'POST reservations': 'post /v1/skus/{sku}/reservations',
  'POST commit': 'post /v1/skus/{sku}/reservations/{reservationId}/commit',
  'POST release': 'post /v1/skus/{sku}/reservations/{reservationId}/release',
  'POST sales': 'post /v1/skus/{sku}/sales',
  'POST returns': 'post /v1/skus/{sku}/returns',
  'POST inspection': 'post /v1/skus/{sku}/returns/{returnId}/inspection',
  'PUT channel': 'put /v1/channels/{channel}',
  'GET sku': 'get /v1/skus/{sku}',
  'GET ledger': 'get /v1/skus/{sku}/ledger',
  'GET channels': 'get /v1/channels',
  'GET sku availability': 'get /v1/skus/{sku}/availability',
  'GET channel availability': 'get /v1/channels/{channel}/availability',
  'GET availability stream': 'get /v1/availability/stream',
  'GET reservations': 'get /v1/reservations',
  'GET returns': 'get /v1/returns',
  'GET location stock': 'get /v1/locations/{location}/stock',
  'GET balance': 'get /v1/skus/{sku}/balance',
  'GET movements': 'get /v1/skus/{sku}/movements',
  'GET stock report': 'get /v1/reports/stock',
  'GET verify': 'get /v1/audit/verify',
  'GET projections': 'get /v1/admin/projections',
  'POST projection rebuild': 'post /v1/admin/projections/{name}/rebuild',
  'public /health/live': 'get /health/live',
  'public /health/ready': 'get /health/ready',
};

const PUBLIC = ['/health/live', '/health/ready', '/metrics', '/docs', '/docs-json'];

function expectedFor(route: Route, who: Identity): number {
  if (who === 'none' || who === 'wrong') return 401;
  return route.allowed[who] ?? 403;
}

const GRID = ROUTES.flatMap((route) => IDENTITIES.map((who) => ({ route, who, status: expectedFor(route, who) })));
const DENIED = GRID.filter((cell) => cell.status === 401 || cell.status === 403);
const ALLOWED = GRID.filter((cell) => cell.status !== 401 && cell.status !== 403);

describe('access: every route for every role', () => {
  let testApp: TestApp;
  let client: HttpClient;
  const answers: HttpResponse[] = [];
  const send = async (who: Identity | null, method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
    const answer = await client.request(method, path, { body, token: who === null ? null : tokenOf(who), headers });
    answers.push(answer);
    return answer;
  };
  let ledgerBefore: unknown;
  let channelsBefore: unknown;

  beforeAll(async () => {
    testApp = await startTestApp({ env: { LEDGER_API_TOKENS: `ops:${TOKENS.ops}, service:${TOKENS.service},auditor:${TOKENS.auditor}` } });
    client = createClient(testApp.url);
    const setup = [
      await send('ops', 'PUT', '/v1/channels/web', { locations: ['wh-1'] }),
      await send('ops', 'POST', `${s}/receipts`, { receiptId: 'rc-setup', location: 'wh-1', quantity: 100 }),
    ];
    for (const who of ['service', 'ops'] as const) {
      setup.push(await send('ops', 'POST', `${s}/reservations`, { reservationId: `commit-${who}`, channel: 'web', quantity: 1 }));
      setup.push(await send('ops', 'POST', `${s}/reservations`, { reservationId: `release-${who}`, channel: 'web', quantity: 1 }));
      setup.push(await send('ops', 'POST', `${s}/returns`, { returnId: `insp-${who}`, location: 'wh-1', quantity: 1 }));
    }
    expect(setup.map((answer) => answer.status)).toEqual([200, ...Array(7).fill(201)]);
    ledgerBefore = await readLedger(client.as(TOKENS.auditor), SKU);
    channelsBefore = (await send('auditor', 'GET', '/v1/channels')).body;
  });

  afterAll(async () => {
    client.close();
    await testApp.close();
  });

  it('the grid covers every documented route', async () => {
    const docs = await send(null, 'GET', '/docs-json');
    const documented = Object.entries(docs.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method} ${path}`));
    expect(documented.sort()).toEqual(Object.values(DOCUMENTED).sort());
    const covered = [...ROUTES.map((route) => route.name), ...PUBLIC.map((path) => `public ${path}`)];
    expect(Object.keys(DOCUMENTED).filter((name) => !covered.includes(name))).toEqual([]);
  });

  it.each(DENIED.map((cell) => [cell.route.name, cell.who, cell.status, cell] as const))('%s as %s: %i', async (_name, who, status, { route }) => {
    const { path, body } = route.request(who);
    const answer = await send(who, route.method, path, body);
    expect({ status: answer.status, code: answer.body?.code }).toEqual({ status, code: status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN' });
    // RFC 6750: a 401 names the scheme; a presented but unknown token is also told it is invalid.
    const challenge = who === 'wrong' ? 'Bearer realm="inventory-ledger", error="invalid_token"' : 'Bearer realm="inventory-ledger"';
    expect(answer.headers['www-authenticate']).toBe(status === 401 ? challenge : undefined);
  });

  it.each([
    ['a Basic scheme', { Authorization: `Basic ${Buffer.from(`ops:${TOKENS.ops}`).toString('base64')}` }],
    ['the bare token without a scheme', { Authorization: TOKENS.ops }],
    ['"Bearer" and nothing else', { Authorization: 'Bearer' }],
    ['a token one character short', { Authorization: `Bearer ${TOKENS.ops.slice(0, -1)}` }],
    ['a token with one character more', { Authorization: `Bearer ${TOKENS.ops}x` }],
    ['two tokens', { Authorization: `Bearer ${TOKENS.ops} ${TOKENS.ops}` }],
    ['the token in another header', { 'X-Api-Token': TOKENS.ops }],
  ])('a stock command with %s: 401', async (_label, headers) => {
    const answer = await send(null, 'POST', `${s}/receipts`, { receiptId: 'rc-odd', location: 'wh-1', quantity: 1 }, headers);
    expect({ status: answer.status, code: answer.body?.code }).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    expect(answer.headers['www-authenticate']).toMatch(/^Bearer realm="inventory-ledger"/);
  });

  it('nothing refused changed a stream', async () => {
    expect(await readLedger(client.as(TOKENS.auditor), SKU)).toEqual(ledgerBefore);
    expect((await send('auditor', 'GET', '/v1/channels')).body).toEqual(channelsBefore);
  });

  it.each(ALLOWED.map((cell) => [cell.route.name, cell.who, cell.status, cell] as const))('%s as %s: %i', async (_name, who, status, { route }) => {
    const { path, body } = route.request(who);
    const answer = await send(who, route.method, path, body);
    const stream = /event-stream|text\/csv|ndjson/.test(String(answer.headers['content-type']));
    expect({ status: answer.status, answered: stream || answer.body !== undefined }).toEqual({ status, answered: true });
    if (status >= 400) expect(answer.body.code).toBe(route.code);
  });

  it('the scheme name is case-insensitive', async () => {
    const answer = await send(null, 'GET', s, undefined, { Authorization: `bearer ${TOKENS.auditor}` });
    expect(answer.status).toBe(200);
  });

  it.each(PUBLIC.flatMap((path) => IDENTITIES.map((who) => [path, who] as const)))('public %s as %s: 200', async (path, who) => {
    const answer = await send(who, 'GET', path);
    expect(answer.status).toBe(200);
  });

  it('records the acting token by name and role in event metadata', async () => {
    const ledger = await readLedger(client.as(TOKENS.auditor), SKU);
    const byCommand = (suffix: string) => ledger.filter((event) => Object.values(event.data).some((value) => typeof value === 'string' && value.endsWith(`-${suffix}`)));
    const actors = (events: typeof ledger) => [...new Set(events.map((event) => `${event.metadata.actor}/${event.metadata.role}`))];
    // Setup made commit-*/release-*/insp-* as ops; what the allowed grid made carries its own caller.
    const serviceMade = ledger.filter((event) => event.metadata.role === 'service');
    expect(serviceMade.map((event) => event.type).sort()).toEqual(
      [
        'inventory.stock-received.v1',
        'inventory.stock-adjusted.v1',
        'inventory.stock-reserved.v1',
        'inventory.reservation-committed.v1',
        'inventory.reservation-released.v1',
        'inventory.stock-sold.v1',
        'inventory.return-received.v1',
        'inventory.return-inspected.v1',
      ].sort(),
    );
    // Named by role and token fingerprint, so the order of LEDGER_API_TOKENS renames nobody.
    const service = `${tokenName('service', TOKENS.service)}/service`;
    const ops = `${tokenName('ops', TOKENS.ops)}/ops`;
    expect(actors(serviceMade)).toEqual([service]);
    expect(actors(byCommand('ops'))).toEqual([ops]);
    expect(actors(ledger)).toEqual(expect.arrayContaining([ops, service]));
    expect(ledger.some((event) => event.metadata.role === 'auditor')).toBe(false);
  });

  it('never shows a raw token: not in any answer, the ledger, the metrics or the store files', async () => {
    const ledger = JSON.stringify(await readLedger(client.as(TOKENS.auditor), SKU));
    const metrics = (await send(null, 'GET', '/metrics')).text;
    const seen = answers.map((answer) => `${answer.text}\n${JSON.stringify(answer.headers)}`).join('\n');
    const files = readdirSync(testApp.dataDir).map((file) => readFileSync(join(testApp.dataDir, file)).toString('latin1')).join('\n');
    expect(files.length).toBeGreaterThan(0);
    expect(files).toContain('rc-service');
    for (const token of [...Object.values(TOKENS), WRONG]) {
      for (const [where, text] of Object.entries({ ledger, metrics, seen, files })) {
        expect({ where, leaked: text.includes(token) }).toEqual({ where, leaked: false });
      }
    }
  });
});

describe('access with no tokens configured (local ops)', () => {
  let testApp: TestApp;
  let client: HttpClient;
  beforeAll(async () => {
    testApp = await startTestApp();
    client = createClient(testApp.url);
  });
  afterAll(async () => {
    client.close();
    await testApp.close();
  });

  it('serves every route without a token and records the actor as local/ops', async () => {
    expect(testApp.config.apiTokens).toEqual([]);
    expect(testApp.config.host).toBe('127.0.0.1');
    expect((await client.put('/v1/channels/web', { locations: ['wh-1'] })).status).toBe(200);
    expect((await client.post('/v1/skus/LOCAL-1/receipts', { receiptId: 'rc-1', location: 'wh-1', quantity: 5 })).status).toBe(201);
    expect((await client.post('/v1/skus/LOCAL-1/reservations', { reservationId: 'res-1', channel: 'web', quantity: 2 })).status).toBe(201);
    expect((await client.post('/v1/skus/LOCAL-1/reservations/res-1/commit')).status).toBe(200);
    // A token, even a made-up one, changes nothing when none are configured.
    expect((await client.post('/v1/skus/LOCAL-1/sales', { saleId: 'sale-1', channel: 'web', quantity: 1 }, { token: WRONG })).status).toBe(201);
    expect((await client.get('/v1/skus/LOCAL-1')).body.totals).toMatchObject({ onHand: 2, reserved: 0, available: 2 });
    expect((await client.get('/v1/channels')).status).toBe(200);
    const ledger = await readLedger(client, 'LOCAL-1');
    expect(ledger).toHaveLength(4);
    expect(ledger.every((event) => event.metadata.actor === 'local' && event.metadata.role === 'ops')).toBe(true);
    expect(JSON.stringify(ledger)).not.toContain(WRONG);
  });
});
