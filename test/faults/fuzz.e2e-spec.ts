import Database from 'better-sqlite3';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type HttpClient, type HttpResponse } from '../support/http';
import { startLedgerProcess, type LedgerProcess } from './support/ledger-process';

/**
 * Property-based fuzzing of every HTTP endpoint of the running service (a child process, so a crash
 * would show as a dead process, not a failed promise). Whatever arrives, the answer is a clear 4xx
 * ({code, message} JSON) or, for a payload that happens to be valid, a 2xx or 409; never a 5xx and
 * never a dropped connection. A refused request changes no stream: the ledger's head position is
 * read from the file before and after each one.
 */
const TOKENS = { ops: 'ops-fuzz-Zq8vK2mN4pR7tW1x', service: 'svc-fuzz-Hb5cJ9dL3fG6kM0y', auditor: 'aud-fuzz-Xe2rT7uY4iO8pA1s' };
const BODY_LIMIT = 64 * 1024;
/** Runs per property: together about 20 s on two cores. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 1_200);

interface Route {
  method: string;
  /** OpenAPI path, e.g. /v1/skus/{sku}/receipts */
  template: string;
  params: string[];
  body: boolean;
}

/** A valid body per command route (the fields the fuzzer mutates). */
const VALID_BODIES: Record<string, (n: number) => Record<string, unknown>> = {
  'POST /v1/skus/{sku}/receipts': (n) => ({ receiptId: `rc-${n}`, location: 'wh-1', quantity: 5, reference: 'PO-7' }),
  'POST /v1/skus/{sku}/adjustments': (n) => ({ adjustmentId: `adj-${n}`, location: 'wh-1', delta: -1, reason: 'damage' }),
  'POST /v1/skus/{sku}/sales': (n) => ({ saleId: `sale-${n}`, channel: 'web', quantity: 1 }),
  'POST /v1/skus/{sku}/reservations': (n) => ({ reservationId: `res-${n}`, channel: 'web', quantity: 1, ttlSeconds: 60, orderRef: 'order 7/A' }),
  'POST /v1/skus/{sku}/reservations/{reservationId}/release': () => ({ reason: 'cancelled' }),
  'POST /v1/skus/{sku}/reservations/{reservationId}/commit': () => ({}),
  'POST /v1/skus/{sku}/returns': (n) => ({ returnId: `ret-${n}`, location: 'wh-1', quantity: 1, orderRef: 'order-7', channel: 'web' }),
  'POST /v1/skus/{sku}/returns/{returnId}/inspection': () => ({ restockQuantity: 1, writeOffQuantity: 0 }),
  'PUT /v1/channels/{channel}': () => ({ locations: ['wh-1'] }),
};
const VALID_PARAMS: Record<string, string[]> = {
  sku: ['FUZZ-1', 'FUZZ-2'],
  reservationId: ['res-held', 'res-1', 'res-2'],
  returnId: ['ret-pending', 'ret-1'],
  channel: ['web', 'shop'],
  location: ['wh-1', 'wh-2'],
  name: ['returns', 'reservations', 'no-such'],
};
const QUERY_KEYS = ['limit', 'cursor', 'minPosition', 'fromRevision', 'sku', 'channel', 'status', 'after', 'maxAvailable', 'at', 'revision', 'from', 'to', 'types', 'location', 'format'];

// ---- arbitraries -------------------------------------------------------------------------------

/** Characters node's HTTP client sends as they are in a header value (latin1, no controls but tab). */
const headerChar = fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c));
const headerValue = fc.oneof(
  fc.string({ unit: headerChar, maxLength: 40 }),
  fc.string({ unit: headerChar, minLength: 190, maxLength: 260 }),
  fc.constantFrom('', ' ', '0', '-1', '1e400', '999999999999999999999', 'null', '../../etc', '\u00ff\u00fe', 'x'.repeat(8_000)),
);
/** Characters node's client sends raw in a path (\x21-\xff) without the ones that end a segment. */
const pathChar = fc.integer({ min: 0x21, max: 0xff }).filter((c) => ![0x2f, 0x3f, 0x23, 0x7f].includes(c)).map((c) => String.fromCharCode(c));
const hostileSegment = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }).map(encodeURIComponent),
  fc.string({ unit: pathChar, minLength: 1, maxLength: 30 }),
  fc.integer({ min: 190, max: 3_000 }).map((n) => 'p'.repeat(n)),
  fc.constantFrom('..', '.', '%2e%2e', '%2F', 'a%2Fb', '%00', '%', '%%', '%E0%A4%A', '%C0%AF', '%FF%FE', '%u0041', '~', '-a', '.hidden', 'a;b', 'a=b', 'a:b@c', 'ÿ', '%F0%9F%93%A6'),
);
const segmentFor = (param: string) => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...(VALID_PARAMS[param] ?? ['x'])) }, { weight: 2, arbitrary: hostileSegment });

const queryValue = fc.oneof(
  fc.constantFrom('0', '1', '-1', '1.5', '1e309', 'NaN', 'Infinity', '', 'true', '[]', '{}', '9007199254740993', '1000', '1001', 'held', 'csv', 'json', 'xml', '2026-01-01T00:00:00Z', 'yesterday', 'web', 'wh-1', 'reserved,sold', 'stock-reserved'),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 10 }),
  fc.integer({ min: 1_001, max: 5_000 }).map((n) => 'c'.repeat(n)),
);
const query = fc
  .array(fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...QUERY_KEYS) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) }), queryValue), { maxLength: 4 })
  .map((pairs) => pairs.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join('&'));

const hostileNumber = fc.oneof(
  fc.constantFrom(0, -0, -1, 1.5, -1.5, 0.1, 5e-324, 1e9, 1e9 + 1, 2 ** 31, -(2 ** 31), 2 ** 53, 2 ** 53 + 2, 1e21, 1e308, -1e308, Number.MAX_VALUE),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const hostileString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer({ min: 199, max: 20_000 }).map((n) => 'x'.repeat(n)),
  fc.constantFrom('', ' ', '\u0000', '\ud800', '\u202e', 'wh-1', 'web', 'cancelled', 'expired', 'damage', 'cycle_count', '__proto__', '-a', 'a b', 'a/b', "'; DROP TABLE events;--", '${7*7}', 'res-held', 'ret-pending'),
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileNumber,
  hostileString,
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(hostileString, hostileNumber), { maxLength: 4 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A valid body with one to three fields replaced, added or removed. */
function mutatedBody(base: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const fields = [...Object.keys(base), 'extra', '__proto__', 'constructor', 'quantity', 'countedQuantity', 'delta', 'ttlSeconds'];
  const change = fc.tuple(fc.constantFrom(...fields), fc.option(hostileValue, { freq: 6 }));
  return fc.array(change, { minLength: 1, maxLength: 3 }).map((changes) => {
    const body: Record<string, unknown> = { ...base };
    for (const [field, value] of changes) {
      if (value === null) delete body[field];
      // defineProperty: `body.__proto__ = x` would set the prototype, not send a field.
      else Object.defineProperty(body, field, { value, enumerable: true, configurable: true, writable: true });
    }
    return body;
  });
}

const deep = (depth: number, open: string, middle: string, close: string) => open.repeat(depth) + middle + close.repeat(depth);
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/vnd.api+json', 'application/json, text/plain', 'garbage'];

/** Bodies no JSON encoder would produce: deep nesting, broken UTF-8, broken syntax, too big. */
const rawBody: fc.Arbitrary<{ label: string; raw: Buffer }> = fc.oneof(
  fc.integer({ min: 500, max: 10_000 }).map((n) => ({ label: `arrays nested ${n} deep`, raw: Buffer.from(deep(n, '[', '', ']')) })),
  fc.integer({ min: 500, max: 10_000 }).map((n) => ({ label: `objects nested ${n} deep`, raw: Buffer.from(deep(n, '{"a":', '1', '}')) })),
  fc.integer({ min: 500, max: 8_000 }).map((n) => ({ label: `a field nested ${n} deep`, raw: Buffer.from(`{"receiptId":${deep(n, '[', '"x"', ']')},"location":"wh-1","quantity":1}`) })),
  fc.uint8Array({ minLength: 1, maxLength: 12 }).map((bytes) => ({
    label: 'invalid UTF-8 in a string',
    raw: Buffer.concat([Buffer.from('{"receiptId":"rc-'), Buffer.from([0xc3, 0x28, 0xff, ...bytes]), Buffer.from('","location":"wh-1","quantity":1}')]),
  })),
  fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => ({ label: 'random bytes', raw: Buffer.from(bytes) })),
  fc.integer({ min: 1, max: 4_096 }).map((extra) => ({ label: `${extra} bytes over the limit`, raw: Buffer.from(JSON.stringify({ receiptId: 'rc-big', location: 'wh-1', quantity: 1, pad: 'x'.repeat(BODY_LIMIT + extra) })) })),
  fc.integer({ min: 20, max: 2_000 }).map((n) => ({ label: `a ${n}-digit number`, raw: Buffer.from(`{"receiptId":"rc-num","location":"wh-1","quantity":1${'0'.repeat(n)}}`) })),
  fc.constantFrom(
    { label: 'duplicate keys', raw: Buffer.from('{"receiptId":"rc-dup","location":"wh-1","quantity":1,"quantity":-5}') },
    { label: 'a byte-order mark', raw: Buffer.from('\ufeff{"receiptId":"rc-bom","location":"wh-1","quantity":1}') },
    { label: 'truncated', raw: Buffer.from('{"receiptId":"rc-t","location":"wh-1","quan') },
    { label: 'a lone surrogate escape', raw: Buffer.from('{"receiptId":"rc-\\ud800","location":"wh-1","quantity":1}') },
    { label: 'NUL escape', raw: Buffer.from('{"receiptId":"rc-\\u0000","location":"wh-1","quantity":1}') },
    { label: 'UTF-16 text', raw: Buffer.from('{"receiptId":"rc-16","location":"wh-1","quantity":1}', 'utf16le') },
    { label: 'empty', raw: Buffer.alloc(0) },
    { label: 'whitespace', raw: Buffer.from(' \n\t ') },
    { label: 'NaN literal', raw: Buffer.from('{"receiptId":"rc-nan","location":"wh-1","quantity":NaN}') },
    { label: 'trailing garbage', raw: Buffer.from('{"receiptId":"rc-tg","location":"wh-1","quantity":1}xyz') },
  ),
);

const headers = fc.record(
  {
    'Idempotency-Key': headerValue,
    'X-Command-Id': headerValue,
    'X-Correlation-Id': headerValue,
    'Last-Event-ID': headerValue,
    Accept: fc.constantFrom('*/*', 'text/event-stream', 'application/xml', 'garbage'),
    'X-Forwarded-For': headerValue,
  },
  { requiredKeys: [] },
);
type Auth = { kind: 'ops' | 'service' | 'auditor' | 'none' | 'garbage'; header?: string };
const auth: fc.Arbitrary<Auth> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Auth>({ kind: 'ops' }) },
  { weight: 1, arbitrary: fc.constantFrom<Auth>({ kind: 'service' }, { kind: 'auditor' }, { kind: 'none' }) },
  { weight: 2, arbitrary: fc.string({ unit: headerChar, minLength: 16, maxLength: 80 }).map((garbage): Auth => ({ kind: 'garbage', header: `Bearer tok${garbage}` })) },
  { weight: 1, arbitrary: headerValue.map((garbage): Auth => ({ kind: 'garbage', header: garbage })) },
);

// ---- the checks --------------------------------------------------------------------------------

interface Sent {
  method: string;
  path: string;
  raw?: Buffer;
  body?: unknown;
  headers?: Record<string, string>;
  auth: Auth;
}

describe('fuzz: no input crashes the service or changes a stream it should not', () => {
  jest.setTimeout(120_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-fuzz-'));
  let ledger: LedgerProcess;
  let client: HttpClient;
  let ledgerDb: Database.Database;
  let routes: Route[];
  let requests = 0;
  const statuses = new Map<number, number>();

  const headPosition = () => (ledgerDb.prepare('SELECT MAX(position) AS position FROM events').get() as { position: number | null }).position;

  function describeSent(sent: Sent): string {
    const body = sent.raw ? `${sent.raw.length} raw bytes: ${sent.raw.subarray(0, 120).toString('latin1')}` : JSON.stringify(sent.body)?.slice(0, 300);
    return `${sent.method} ${sent.path.slice(0, 300)} auth=${sent.auth.kind} headers=${JSON.stringify(sent.headers ?? {}).slice(0, 300)} body=${body}`;
  }

  /** Sends one request and checks every promise about its answer; throws (with the request) when one is broken. */
  async function check(sent: Sent): Promise<HttpResponse> {
    const before = headPosition();
    const requestHeaders: Record<string, string> = { ...(sent.headers ?? {}) };
    if (sent.auth.kind === 'garbage') requestHeaders.Authorization = sent.auth.header as string;
    const token = sent.auth.kind === 'none' || sent.auth.kind === 'garbage' ? null : TOKENS[sent.auth.kind];
    // Raw bytes above 0x7f in the request target are refused by node's HTTP parser before any app
    // code runs: a bare 400 and a closed connection, which a client still sending a large body may
    // see as a reset instead. The process must live on; that is all there is to check.
    const malformedTarget = /[^\x00-\x7f]/.test(sent.path);
    let answer: HttpResponse;
    try {
      answer = await client.request(sent.method, sent.path, { raw: sent.raw, body: sent.raw ? undefined : sent.body, headers: requestHeaders, token });
    } catch (error) {
      if (malformedTarget && ledger.alive() && headPosition() === before) return { status: 0, headers: {}, text: '', body: undefined };
      throw new Error(`no answer (${(error as Error).message}) to ${describeSent(sent)}`);
    }
    requests += 1;
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    const after = headPosition();
    const problems: string[] = [];
    if (!ledger.alive()) problems.push('the process died');
    if (answer.status >= 500 && !notYetConsistent(sent.path, answer, before)) problems.push(`a ${answer.status}: ${answer.text.slice(0, 300)}`);
    if (answer.status >= 400 && sent.method !== 'HEAD') {
      // A parser-level refusal (431 headers too large, 400 bad request line) has no body; everything
      // the app answers is {code, message, details}.
      const bare = (answer.status === 431 || answer.status === 400) && answer.text === '';
      if (!bare && (typeof answer.body?.code !== 'string' || typeof answer.body?.message !== 'string')) problems.push(`a ${answer.status} without {code, message}: ${answer.text.slice(0, 300)}`);
    }
    const mayAppend = answer.status < 300 || (answer.status === 409 && answer.body?.code === 'INVALID_STATE');
    if (!mayAppend && after !== before) problems.push(`a ${answer.status} ${answer.body?.code} answer, yet the ledger head moved from ${before} to ${after}`);
    if (sent.auth.header && sent.auth.header.length >= 16 && answer.text.includes(sent.auth.header.replace(/^Bearer /, ''))) problems.push('the presented token was echoed');
    if (problems.length > 0) throw new Error(`${problems.join('; ')}\n  request: ${describeSent(sent)}`);
    return answer;
  }

  beforeAll(async () => {
    ledger = await startLedgerProcess({
      dataDir,
      env: { LEDGER_API_TOKENS: `ops:${TOKENS.ops},service:${TOKENS.service},auditor:${TOKENS.auditor}`, LEDGER_BODY_LIMIT_BYTES: String(BODY_LIMIT),
        // No sweeper pass during the run: an expiry it appends would look like a refused request moving the head.
        LEDGER_SWEEP_INTERVAL_MS: '3600000',
      },
    });
    client = createClient(ledger.url, { token: TOKENS.ops, maxSockets: 4 });
    const setup = [
      await client.put('/v1/channels/web', { locations: ['wh-1'] }),
      await client.post('/v1/skus/FUZZ-1/receipts', { receiptId: 'rc-setup', location: 'wh-1', quantity: 1_000 }),
      await client.post('/v1/skus/FUZZ-1/reservations', { reservationId: 'res-held', channel: 'web', quantity: 2 }),
      await client.post('/v1/skus/FUZZ-1/returns', { returnId: 'ret-pending', location: 'wh-1', quantity: 2 }),
    ];
    expect(setup.map((answer) => answer.status)).toEqual([200, 201, 201, 201]);
    ledgerDb = new Database(join(dataDir, 'ledger.db'), { readonly: true, fileMustExist: true });
    const docs = await client.get('/docs-json', { token: null });
    expect(docs.status).toBe(200);
    routes = Object.entries(docs.body.paths as Record<string, Record<string, { parameters?: { in: string; name: string }[]; requestBody?: unknown }>>).flatMap(([template, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({
        method: method.toUpperCase(),
        template,
        params: (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
        body: operation.requestBody !== undefined || `${method.toUpperCase()} ${template}` in VALID_BODIES,
      })),
    );
    routes.push({ method: 'GET', template: '/metrics', params: [], body: false }, { method: 'GET', template: '/docs-json', params: [], body: false });
    expect(routes.length).toBeGreaterThanOrEqual(20);
  });

  afterAll(async () => {
    client?.close();
    ledgerDb?.close();
    await ledger?.kill();
    rmSync(dataDir, { recursive: true, force: true });
    if (process.env.FAULTS_DEBUG) console.log(`fuzz: ${requests} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  });

  const routeArb = () => fc.constantFrom(...routes);
  const pathOf = (route: Route, segments: Record<string, string>) => route.template.replace(/\{(\w+)\}/g, (_, name: string) => segments[name]);
  const segmentsArb = () =>
    fc.record(Object.fromEntries(Object.keys(VALID_PARAMS).map((param) => [param, segmentFor(param)])) as Record<string, fc.Arbitrary<string>>);

  it('every documented route with hostile path segments, query strings, headers and tokens', async () => {
    await fc.assert(
      fc.asyncProperty(routeArb(), segmentsArb(), query, headers, auth, fc.option(hostileValue, { freq: 2 }), async (route, segments, q, extraHeaders, who, body) => {
        const path = `${pathOf(route, segments)}${q ? `?${q}` : ''}`;
        await check({ method: route.method, path, headers: extraHeaders as Record<string, string>, auth: who, body: route.body ? (body ?? undefined) : undefined });
      }),
      { numRuns: RUNS, interruptAfterTimeLimit: 30_000 },
    );
  });

  it('command bodies: valid payloads with fields replaced by wrong types, huge, negative, fractional, unicode and long values', async () => {
    const commands = () => fc.constantFrom(...routes.filter((route) => `${route.method} ${route.template}` in VALID_BODIES));
    await fc.assert(
      fc.asyncProperty(
        commands().chain((route) => fc.tuple(fc.constant(route), fc.nat(30).chain((n) => mutatedBody(VALID_BODIES[`${route.method} ${route.template}`](n))), segmentsArb())),
        headers,
        async ([route, body, segments], extraHeaders) => {
          await check({ method: route.method, path: pathOf(route, segments), body, headers: extraHeaders as Record<string, string>, auth: { kind: 'ops' } });
        },
      ),
      { numRuns: RUNS, interruptAfterTimeLimit: 30_000 },
    );
  });

  it('raw bodies: deep JSON, invalid UTF-8, random bytes, over the size limit, odd content types', async () => {
    const writes = () => fc.constantFrom(...routes.filter((route) => route.method !== 'GET'));
    await fc.assert(
      fc.asyncProperty(writes(), segmentsArb(), rawBody, fc.constantFrom(...CONTENT_TYPES), async (route, segments, { raw }, contentType) => {
        const answer = await check({ method: route.method, path: pathOf(route, segments), raw, headers: { 'Content-Type': contentType, Connection: 'close' }, auth: { kind: 'ops' } });
        if (raw.length > BODY_LIMIT && answer.status !== 0 && answer.status !== 401 && answer.status !== 415) expect([413, 400, 404]).toContain(answer.status);
      }),
      { numRuns: Math.ceil(RUNS * 0.6), interruptAfterTimeLimit: 30_000 },
    );
  });

  it('random methods and paths', async () => {
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND');
    const path = fc.array(fc.oneof(fc.constantFrom('v1', 'skus', 'FUZZ-1', 'reservations', 'res-held', 'commit', 'channels', 'admin', 'projections', 'health', 'docs', '..', ''), hostileSegment), { minLength: 1, maxLength: 7 });
    await fc.assert(
      fc.asyncProperty(method, path, query, auth, fc.option(hostileValue, { freq: 3 }), async (m, segments, q, who, body) => {
        await check({ method: m, path: `/${segments.join('/')}${q ? `?${q}` : ''}`, auth: who, body: ['POST', 'PUT', 'PATCH'].includes(m) ? (body ?? undefined) : undefined });
      }),
      { numRuns: Math.ceil(RUNS * 0.6), interruptAfterTimeLimit: 30_000 },
    );
  });

  it.each([
    ['arrays nested 10,000 deep', deep(10_000, '[', '', ']')],
    ['objects nested 10,000 deep', deep(10_000, '{"a":', '1', '}')],
    ['a quantity nested 10,000 deep', `{"receiptId":"rc-deep","location":"wh-1","quantity":${deep(10_000, '[', '1', ']')}}`],
    ['a field nested 10,000 deep in objects', `{"receiptId":"rc-deep","location":"wh-1","quantity":1,"reference":${deep(9_000, '{"a":', '"x"', '}')}}`],
  ])('%s: a clear 4xx on every command route', async (_label, raw) => {
    expect(raw.length).toBeLessThan(BODY_LIMIT);
    for (const route of routes.filter((r) => r.method !== 'GET')) {
      const answer = await check({ method: route.method, path: pathOf(route, { sku: 'FUZZ-1', reservationId: 'res-held', returnId: 'ret-pending', channel: 'web', name: 'returns', location: 'wh-1' }), raw: Buffer.from(raw), headers: { Connection: 'close' }, auth: { kind: 'ops' } });
      if (route.template !== '/v1/admin/projections/{name}/rebuild') expect({ route: route.template, status: answer.status, code: answer.body?.code }).toEqual({ route: route.template, status: 400, code: 'VALIDATION_FAILED' });
    }
  });

  it('a body over the limit, with or without Content-Length, is refused with 413 and the service goes on', async () => {
    const big = JSON.stringify({ receiptId: 'rc-big', location: 'wh-1', quantity: 1, pad: 'x'.repeat(BODY_LIMIT) });
    expect((await check({ method: 'POST', path: '/v1/skus/FUZZ-1/receipts', raw: Buffer.from(big), headers: { Connection: 'close' }, auth: { kind: 'ops' } })).status).toBe(413);
    const chunked = await chunkedPost(ledger.url, '/v1/skus/FUZZ-1/receipts', TOKENS.ops, Buffer.from(big));
    expect(chunked.status).toBe(413);
    expect((await client.get('/health/live')).status).toBe(200);
  });

  it('the process is alive, still serves, and logged no unexpected error', async () => {
    expect(ledger.alive()).toBe(true);
    expect((await client.get('/health/ready', { token: null })).status).toBe(200);
    expect((await client.get('/v1/skus/FUZZ-1')).status).toBe(200);
    expect(requests).toBeGreaterThan(RUNS * 2);
    expect(ledger.output()).not.toMatch(/unexpected error|Maximum call stack|FATAL/i);
  });
});

/** A POST with Transfer-Encoding: chunked (no Content-Length), the body written in pieces. */
function chunkedPost(baseUrl: string, path: string, token: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'Transfer-Encoding': 'chunked' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    for (let offset = 0; offset < body.length; offset += 8_192) req.write(body.subarray(offset, offset + 8_192));
    req.end();
  });
}

/**
 * The one 5xx that is the documented answer: a read asked to wait for a ledger position (minPosition)
 * that its read model had not reached within 2 s is 503 NOT_YET_CONSISTENT with Retry-After. Taken
 * only when the position asked for is beyond the ledger's head, so no write could have answered it.
 */
function notYetConsistent(path: string, answer: HttpResponse, head: number | null): boolean {
  if (answer.status !== 503 || answer.body?.code !== 'NOT_YET_CONSISTENT' || answer.headers['retry-after'] === undefined) return false;
  let asked: number[];
  try {
    asked = new URL(path, 'http://fuzz').searchParams.getAll('minPosition').map(Number);
  } catch {
    return false;
  }
  return asked.some((position) => Number.isFinite(position) && position > (head ?? 0));
}
