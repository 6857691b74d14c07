import { createClient, readLedger, type HttpClient, type LedgerEntry } from '../support/http';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * Every endpoint refuses malformed input with 400 VALIDATION_FAILED naming exactly the wrong fields
 * (413 for an oversized body), and none of it changes a stream. Each base payload below is valid:
 * a case changes one thing, so the fields named must be exactly the ones it broke.
 */
const SKU = 'BAD-1';

type Body = Record<string, unknown>;
interface Route {
  name: string;
  method: 'POST' | 'PUT';
  path: string;
  valid: Body;
  required: string[];
  ids: string[];
  quantities: { field: string; min: number; max: number; signed?: boolean; base?: Body }[];
  references: string[];
  enums: string[];
  /** Optional fields: null there means "not given", as absent does. */
  optional?: string[];
}

const Q = 1_000_000_000;
const ROUTES: Route[] = [
  {
    name: 'receipts',
    method: 'POST',
    path: `/v1/skus/${SKU}/receipts`,
    valid: { receiptId: 'rc-new', location: 'wh-1', quantity: 5, reference: 'PO-7' },
    required: ['receiptId', 'location', 'quantity'],
    ids: ['receiptId', 'location'],
    quantities: [{ field: 'quantity', min: 1, max: Q }],
    references: ['reference'],
    enums: [],
  },
  {
    name: 'adjustments',
    method: 'POST',
    path: `/v1/skus/${SKU}/adjustments`,
    valid: { adjustmentId: 'adj-new', location: 'wh-1', delta: -1, reason: 'damage' },
    required: ['adjustmentId', 'location', 'reason'],
    ids: ['adjustmentId', 'location'],
    quantities: [
      { field: 'delta', min: -Q, max: Q, signed: true },
      { field: 'countedQuantity', min: 0, max: Q, base: { adjustmentId: 'adj-new', location: 'wh-1', reason: 'cycle_count' } },
    ],
    references: [],
    enums: ['reason'],
  },
  {
    name: 'reservations',
    method: 'POST',
    path: `/v1/skus/${SKU}/reservations`,
    valid: { reservationId: 'res-new', channel: 'web', quantity: 1, ttlSeconds: 60, orderRef: 'order 7/A' },
    required: ['reservationId', 'channel', 'quantity'],
    ids: ['reservationId', 'channel'],
    quantities: [
      { field: 'quantity', min: 1, max: Q },
      { field: 'ttlSeconds', min: 1, max: 7 * 24 * 3600 },
    ],
    references: ['orderRef'],
    enums: [],
    optional: ['ttlSeconds', 'orderRef'],
  },
  { name: 'commit', method: 'POST', path: `/v1/skus/${SKU}/reservations/res-held/commit`, valid: {}, required: [], ids: [], quantities: [], references: [], enums: [] },
  { name: 'release', method: 'POST', path: `/v1/skus/${SKU}/reservations/res-held/release`, valid: { reason: 'cancelled' }, required: [], ids: [], quantities: [], references: [], enums: ['reason'] },
  {
    name: 'sales',
    method: 'POST',
    path: `/v1/skus/${SKU}/sales`,
    valid: { saleId: 'sale-new', channel: 'web', quantity: 1 },
    required: ['saleId', 'channel', 'quantity'],
    ids: ['saleId', 'channel'],
    quantities: [{ field: 'quantity', min: 1, max: Q }],
    references: [],
    enums: [],
  },
  {
    name: 'returns',
    method: 'POST',
    path: `/v1/skus/${SKU}/returns`,
    valid: { returnId: 'ret-new', location: 'wh-1', quantity: 1, orderRef: 'order-7', channel: 'web' },
    required: ['returnId', 'location', 'quantity'],
    ids: ['returnId', 'location', 'channel'],
    quantities: [{ field: 'quantity', min: 1, max: Q }],
    references: ['orderRef'],
    enums: [],
    optional: ['orderRef', 'channel'],
  },
  {
    name: 'inspection',
    method: 'POST',
    path: `/v1/skus/${SKU}/returns/ret-pending/inspection`,
    valid: { restockQuantity: 1, writeOffQuantity: 1 },
    required: ['restockQuantity', 'writeOffQuantity'],
    ids: [],
    quantities: [
      { field: 'restockQuantity', min: 0, max: Q },
      { field: 'writeOffQuantity', min: 0, max: Q },
    ],
    references: [],
    enums: [],
  },
  { name: 'channels', method: 'PUT', path: '/v1/channels/web', valid: { locations: ['wh-1'] }, required: ['locations'], ids: [], quantities: [], references: [], enums: [] },
];

const BAD_IDS: [string, unknown][] = [
  ['empty', ''],
  ['201 chars', 'x'.repeat(201)],
  ['a space', 'a b'],
  ['a slash', 'a/b'],
  ['unicode', 'réf-1'],
  ['an emoji', 'box📦'],
  ['a leading dash', '-a'],
  ['a number', 42],
  ['null', null],
  ['an object', { id: 'a' }],
];
const BAD_REFERENCES: [string, unknown][] = [
  ['empty', ''],
  ['201 chars', 'r'.repeat(201)],
  ['a control character', 'PO\u00007'],
  ['a number', 7],
  ['an array', ['PO-7']],
];
const badQuantities = (min: number, max: number, signed = false): [string, unknown][] => [
  ...(signed ? [] : ([['negative', -1]] as [string, unknown][])),
  ...(min === 1 ? ([['zero', 0]] as [string, unknown][]) : []),
  ['below the minimum', min - 1],
  ['fractional', 1.5],
  ['a numeric string', '5'],
  ['"NaN"', 'NaN'],
  ['over the maximum', max + 1],
  ['1e308', 1e308],
  ['-1e308', -1e308],
  ['null', null],
  ['true', true],
  ['an object', { value: 1 }],
  ['an array', [1]],
];

interface Case {
  label: string;
  method: string;
  path: string;
  body?: unknown;
  raw?: string;
  status?: number;
  fields: string[];
}

function without(body: Body, field: string): Body {
  const { [field]: _dropped, ...rest } = body;
  return rest;
}

const CASES: Case[] = ROUTES.flatMap((route) => {
  const at = (label: string, body: unknown, fields: string[]): Case => ({ label: `${route.name}: ${label}`, method: route.method, path: route.path, body, fields });
  const notNullIfOptional = (field: string) => ([, value]: [string, unknown]) => value !== null || !route.optional?.includes(field);
  const raw = (label: string, text: string, fields: string[], status = 400): Case => ({ label: `${route.name}: ${label}`, method: route.method, path: route.path, raw: text, fields, status });
  return [
    ...route.required.map((field) => at(`missing ${field}`, without(route.valid, field), [field])),
    at('an unknown field', { ...route.valid, extra: 1 }, ['extra']),
    raw('a __proto__ field', JSON.stringify(route.valid).replace(/^\{/, '{"__proto__":{"x":1}' + (Object.keys(route.valid).length ? ',' : '')), ['__proto__']),
    raw('a constructor field', JSON.stringify(route.valid).replace(/^\{/, '{"constructor":{"x":1}' + (Object.keys(route.valid).length ? ',' : '')), ['constructor']),
    ...route.ids.flatMap((field) => BAD_IDS.filter(notNullIfOptional(field)).map(([label, value]) => at(`${field} with ${label}`, { ...route.valid, [field]: value }, [field]))),
    ...route.references.flatMap((field) => BAD_REFERENCES.map(([label, value]) => at(`${field} with ${label}`, { ...route.valid, [field]: value }, [field]))),
    ...route.quantities.flatMap(({ field, min, max, signed, base }) => [
      ...badQuantities(min, max, signed).filter(notNullIfOptional(field)).map(([label, value]) => at(`${field} ${label}`, { ...(base ?? route.valid), [field]: value }, [field])),
      raw(`${field} 1e400 (Infinity)`, JSON.stringify({ ...(base ?? route.valid), [field]: 7 }).replace(`"${field}":7`, `"${field}":1e400`), [field]),
    ]),
    ...route.enums.map((field) => at(`${field} not one of the allowed values`, { ...route.valid, [field]: 'theft' }, [field])),
    raw('malformed JSON', '{"quantity": 1,', ['body']),
    raw('a JSON array', '[]', ['body']),
    raw('an array holding the valid payload', JSON.stringify([route.valid]), ['body']),
    raw('a JSON string', '"hello"', ['body']),
    raw('a JSON number', '42', ['body']),
    raw('JSON null', 'null', ['body']),
    raw('JSON true', 'true', ['body']),
    raw('a body over the size limit', JSON.stringify({ ...route.valid, padding: 'x'.repeat(70 * 1024) }), [], 413),
  ];
});

const SPECIAL_CASES: Case[] = [
  { label: 'adjustments: both countedQuantity and delta', method: 'POST', path: `/v1/skus/${SKU}/adjustments`, body: { adjustmentId: 'adj-new', location: 'wh-1', countedQuantity: 3, delta: 1, reason: 'cycle_count' }, fields: ['countedQuantity', 'delta'] },
  { label: 'adjustments: neither countedQuantity nor delta', method: 'POST', path: `/v1/skus/${SKU}/adjustments`, body: { adjustmentId: 'adj-new', location: 'wh-1', reason: 'cycle_count' }, fields: ['countedQuantity', 'delta'] },
  { label: 'channels: locations not an array', method: 'PUT', path: '/v1/channels/web', body: { locations: 'wh-1' }, fields: ['locations'] },
  { label: 'channels: a location with a space', method: 'PUT', path: '/v1/channels/web', body: { locations: ['wh 1'] }, fields: ['locations'] },
  { label: 'channels: a location of 201 chars', method: 'PUT', path: '/v1/channels/web', body: { locations: ['l'.repeat(201)] }, fields: ['locations'] },
  { label: 'channels: the same location twice', method: 'PUT', path: '/v1/channels/web', body: { locations: ['wh-1', 'wh-1'] }, fields: ['locations'] },
  { label: 'channels: 201 locations', method: 'PUT', path: '/v1/channels/web', body: { locations: Array.from({ length: 201 }, (_, i) => `wh-${i}`) }, fields: ['locations'] },
];

/** Path parameters obey the id rule too, on every route that has them. */
const BAD_PATH_IDS: [string, string][] = [
  ['201 chars', 'p'.repeat(201)],
  ['a space', 'a%20b'],
  ['an encoded slash', 'a%2Fb'],
  ['unicode', '%C3%A9t%C3%A9'],
  ['a leading dot', '.hidden'],
];
const PATH_CASES: Case[] = [
  ...BAD_PATH_IDS.flatMap(([label, bad]): Case[] => [
    { label: `sku with ${label} (receipts)`, method: 'POST', path: `/v1/skus/${bad}/receipts`, body: ROUTES[0].valid, fields: ['sku'] },
    { label: `sku with ${label} (reservations)`, method: 'POST', path: `/v1/skus/${bad}/reservations`, body: ROUTES[2].valid, fields: ['sku'] },
    { label: `sku with ${label} (read)`, method: 'GET', path: `/v1/skus/${bad}`, fields: ['sku'] },
    { label: `sku with ${label} (ledger)`, method: 'GET', path: `/v1/skus/${bad}/ledger`, fields: ['sku'] },
    { label: `reservationId with ${label} (commit)`, method: 'POST', path: `/v1/skus/${SKU}/reservations/${bad}/commit`, fields: ['reservationId'] },
    { label: `reservationId with ${label} (release)`, method: 'POST', path: `/v1/skus/${SKU}/reservations/${bad}/release`, body: {}, fields: ['reservationId'] },
    { label: `returnId with ${label} (inspection)`, method: 'POST', path: `/v1/skus/${SKU}/returns/${bad}/inspection`, body: ROUTES[7].valid, fields: ['returnId'] },
    { label: `channel with ${label}`, method: 'PUT', path: `/v1/channels/${bad}`, body: ROUTES[8].valid, fields: ['channel'] },
  ]),
  { label: 'sku with a broken %-escape', method: 'GET', path: '/v1/skus/%E0%A4%A', fields: ['path'] },
  { label: 'ledger limit 0', method: 'GET', path: `/v1/skus/${SKU}/ledger?limit=0`, fields: ['limit'] },
  { label: 'ledger limit 1001', method: 'GET', path: `/v1/skus/${SKU}/ledger?limit=1001`, fields: ['limit'] },
  { label: 'ledger limit not a number', method: 'GET', path: `/v1/skus/${SKU}/ledger?limit=ten`, fields: ['limit'] },
  { label: 'ledger limit given twice', method: 'GET', path: `/v1/skus/${SKU}/ledger?limit=1&limit=2`, fields: ['limit'] },
  { label: 'ledger fromRevision negative', method: 'GET', path: `/v1/skus/${SKU}/ledger?fromRevision=-1`, fields: ['fromRevision'] },
  { label: 'ledger fromRevision fractional', method: 'GET', path: `/v1/skus/${SKU}/ledger?fromRevision=1.5`, fields: ['fromRevision'] },
  { label: 'ledger unknown query parameter', method: 'GET', path: `/v1/skus/${SKU}/ledger?from=1`, fields: ['from'] },
];

describe('bad input is refused with 400 naming the field, and changes nothing', () => {
  let testApp: TestApp;
  let client: HttpClient;
  let ledgerBefore: LedgerEntry[];
  let channelsBefore: unknown;

  beforeAll(async () => {
    testApp = await startTestApp();
    client = createClient(testApp.url, { maxSockets: 8 });
    const setup = [
      await client.put('/v1/channels/web', { locations: ['wh-1'] }),
      await client.post(`/v1/skus/${SKU}/receipts`, { receiptId: 'rc-1', location: 'wh-1', quantity: 10 }),
      await client.post(`/v1/skus/${SKU}/reservations`, { reservationId: 'res-held', channel: 'web', quantity: 2 }),
      await client.post(`/v1/skus/${SKU}/returns`, { returnId: 'ret-pending', location: 'wh-1', quantity: 2 }),
    ];
    expect(setup.map((response) => response.status)).toEqual([200, 201, 201, 201]);
    ledgerBefore = await readLedger(client, SKU);
    channelsBefore = (await client.get('/v1/channels')).body;
  });

  afterAll(async () => {
    client.close();
    await testApp.close();
  });

  it.each([...CASES, ...SPECIAL_CASES, ...PATH_CASES].map((c) => [c.label, c] as const))('%s', async (_label, c) => {
    const response = await client.request(c.method, c.path, c.raw !== undefined ? { raw: c.raw } : { body: c.body });
    const expected = c.status ?? 400;
    expect({ status: response.status, code: response.body?.code }).toEqual({
      status: expected,
      code: expected === 413 ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION_FAILED',
    });
    if (expected === 400) {
      const named = [...new Set((response.body.details.fields as { field: string }[]).map((field) => field.field))].sort();
      expect(named).toEqual([...c.fields].sort());
    }
  });

  it('left every stream as it was, and the process still serves', async () => {
    expect(await readLedger(client, SKU)).toEqual(ledgerBefore);
    expect((await client.get('/v1/channels')).body).toEqual(channelsBefore);
    for (const sku of ['p'.repeat(200), 'a', 'b', 'rc-new']) expect((await client.get(`/v1/skus/${sku}`)).status).toBe(404);
    expect((await client.get('/health/live')).status).toBe(200);
    // The limits are limits, not off by one: a 200-character id and the largest quantity are taken.
    const id = 'i'.repeat(200);
    const accepted = await client.post(`/v1/skus/${SKU}/receipts`, { receiptId: id, location: 'wh-1', quantity: 1_000_000_000 });
    expect(accepted.status).toBe(201);
    const committed = await client.post(`/v1/skus/${SKU}/reservations/res-held/commit`);
    expect(committed.status).toBe(200);
    expect((await readLedger(client, SKU)).length).toBe(ledgerBefore.length + 2);
  });
});
