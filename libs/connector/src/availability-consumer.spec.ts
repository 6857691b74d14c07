import fc from 'fast-check';
import { InProcessBus, type IncomingMessage } from '@ledger/bus';
import { AvailabilityConsumer } from './availability-consumer';
import { InMemoryAvailabilityStore } from './availability-store';
import { AdapterRejectedError, LoggingChannelAdapter, type ChannelAdapter } from './channel-adapter';
import { HttpMarketplaceAdapter } from './http-marketplace-adapter';
import { isNewer } from './revision-rule';
import { TokenBucket } from './token-bucket';

const quietLogger = { log: () => undefined, warn: () => undefined, error: () => undefined };
const TOPIC = 'inventory.availability.v1';

function message(channel: string, sku: string, available: number, revision: number, position: number, offset = 0): IncomingMessage {
  return {
    topic: TOPIC,
    partition: 0,
    offset: String(offset),
    key: `${channel}:${sku}`,
    value: Buffer.from(JSON.stringify({ sku, channel, available, revision, position, emittedAt: new Date().toISOString() })),
    headers: {},
  };
}

async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('the revision rule', () => {
  it('keeps the highest (revision, position) and drops anything older or equal', () => {
    expect(isNewer({ revision: 0, position: 1 }, undefined)).toBe(true);
    expect(isNewer({ revision: 5, position: 10 }, { revision: 4, position: 99 })).toBe(true);
    expect(isNewer({ revision: 4, position: 99 }, { revision: 5, position: 10 })).toBe(false);
    // A channel's location list changed: same SKU revision, later position.
    expect(isNewer({ revision: 5, position: 12 }, { revision: 5, position: 10 })).toBe(true);
    expect(isNewer({ revision: 5, position: 10 }, { revision: 5, position: 12 })).toBe(false);
    expect(isNewer({ revision: 5, position: 10 }, { revision: 5, position: 10 })).toBe(false);
  });
});

describe('AvailabilityConsumer', () => {
  const adapter = () => new LoggingChannelAdapter('amazon', quietLogger);

  it('applies only newer counts per SKU, whatever the redelivery and reordering', async () => {
    // Per SKU a history of counts; each delivered 1-3 times, in any order (worse than Kafka gives).
    const update = fc.record({ sku: fc.constantFrom('A', 'B', 'C'), available: fc.nat(50), bump: fc.constantFrom('revision', 'position') });
    await fc.assert(
      fc.asyncProperty(fc.array(update, { minLength: 1, maxLength: 30 }), fc.array(fc.nat(), { maxLength: 60 }), async (history, shuffle) => {
        const versions = new Map<string, { revision: number; position: number }>();
        let position = 0;
        const messages = history.map(({ sku, available, bump }) => {
          position += 1;
          const previous = versions.get(sku);
          const revision = previous === undefined ? 0 : bump === 'revision' ? previous.revision + 1 : previous.revision;
          versions.set(sku, { revision, position });
          return message('amazon', sku, available, revision, position);
        });
        const deliveries = [...messages, ...messages.filter((_, index) => index % 2 === 0)];
        for (let index = deliveries.length - 1; index > 0; index--) {
          const other = (shuffle[index % Math.max(1, shuffle.length)] ?? 0) % (index + 1);
          [deliveries[index], deliveries[other]] = [deliveries[other], deliveries[index]];
        }
        const channel = adapter();
        const store = new InMemoryAvailabilityStore();
        const consumer = new AvailabilityConsumer({ bus: new InProcessBus(), topic: TOPIC, channel: 'amazon', adapter: channel, store, logger: quietLogger });
        for (const delivery of deliveries) await consumer.handle(delivery);

        for (const [sku, version] of versions) {
          const last = messages.filter((candidate) => candidate.key === `amazon:${sku}`).pop() as IncomingMessage;
          const expected = JSON.parse(String(last.value)).available;
          expect(store.get(sku)).toEqual({ available: expected, ...version });
          expect(channel.updates.filter((call) => call.sku === sku).pop()?.quantity).toBe(expected);
        }
        expect(consumer.stats.applied + consumer.stats.stale).toBe(deliveries.length);
      }),
      { numRuns: 100 },
    );
  });

  it('ignores other channels, tombstones and values that are not availability messages', async () => {
    const channel = adapter();
    const consumer = new AvailabilityConsumer({ bus: new InProcessBus(), topic: TOPIC, channel: 'amazon', adapter: channel, logger: quietLogger });
    await consumer.handle(message('shopify', 'A', 3, 0, 1));
    await consumer.handle({ ...message('amazon', 'A', 3, 0, 1), value: null });
    await consumer.handle({ ...message('amazon', 'A', 3, 0, 1), value: Buffer.from('not json') });
    // A key that merely starts like ours: the value names another channel.
    await consumer.handle({ ...message('amazon:eu', 'A', 3, 0, 1), key: 'amazon:eu:A' });
    expect(channel.updates).toEqual([]);
    expect(consumer.stats.ignored).toBe(4);
  });

  it('consumes a topic through the bus port; a failing adapter is retried, a refusal skipped', async () => {
    const bus = new InProcessBus({ logger: quietLogger, handlerRetry: { initialDelayMs: 5, maxDelayMs: 20 } });
    await bus.connect();
    const calls: string[] = [];
    let failures = 1;
    const flaky: ChannelAdapter = {
      async setAvailable(sku, quantity) {
        calls.push(`${sku}=${quantity}`);
        if (sku === 'REFUSED') throw new AdapterRejectedError('unknown listing', 404);
        if (failures-- > 0) throw new Error('marketplace timeout');
      },
    };
    const store = new InMemoryAvailabilityStore();
    const consumer = new AvailabilityConsumer({ bus, topic: TOPIC, channel: 'amazon', adapter: flaky, store, logger: quietLogger });
    await consumer.start();
    const out = (sku: string, available: number, revision: number, position: number) => ({
      topic: TOPIC,
      key: `amazon:${sku}`,
      value: JSON.stringify({ sku, channel: 'amazon', available, revision, position, emittedAt: '' }),
    });
    await bus.publish([out('A', 5, 0, 1), out('REFUSED', 1, 0, 2), out('A', 4, 1, 3), out('A', 5, 0, 1)]);
    await eventually(() => consumer.stats.applied + consumer.stats.stale + consumer.stats.refused === 4);
    expect(store.get('A')).toEqual({ available: 4, revision: 1, position: 3 });
    expect(calls.filter((call) => call.startsWith('A='))).toEqual(['A=5', 'A=5', 'A=4']);
    expect(consumer.stats).toMatchObject({ applied: 2, stale: 1, refused: 1 });
    await consumer.stop();
    await bus.close();
  });

  it('resyncs from the ledger API page by page, by the same rule', async () => {
    const pages: Record<string, { items: unknown[]; nextCursor: string | null }> = {
      '': { items: [{ sku: 'A', available: 7, revision: 3, position: 30, updatedAt: '' }, { sku: 'B', available: 2, revision: 1, position: 12, updatedAt: '' }], nextCursor: 'B' },
      B: { items: [{ sku: 'C', available: 0, revision: 9, position: 41, updatedAt: '' }], nextCursor: null },
    };
    const requested: string[] = [];
    const fetch = (async (url: URL, init?: RequestInit) => {
      requested.push(`${url.pathname}?${url.searchParams} ${(init?.headers as Record<string, string>).Authorization}`);
      return new Response(JSON.stringify({ channel: 'amazon', ...pages[url.searchParams.get('cursor') ?? ''] }), { status: 200 });
    }) as unknown as typeof globalThis.fetch;
    const channel = adapter();
    const store = new InMemoryAvailabilityStore();
    const consumer = new AvailabilityConsumer({ bus: new InProcessBus(), topic: TOPIC, channel: 'amazon', adapter: channel, store, logger: quietLogger });
    expect(await consumer.resync('http://ledger:3000', 'service-token-123456', { fetch, limit: 2 })).toBe(3);
    expect(requested).toEqual([
      '/v1/channels/amazon/availability?limit=2 Bearer service-token-123456',
      '/v1/channels/amazon/availability?limit=2&cursor=B Bearer service-token-123456',
    ]);
    expect(channel.updates).toEqual([{ sku: 'A', quantity: 7 }, { sku: 'B', quantity: 2 }, { sku: 'C', quantity: 0 }]);
    // An old message replayed from the topic after the resync changes nothing.
    await consumer.handle(message('amazon', 'A', 9, 2, 20));
    expect(store.get('A')).toEqual({ available: 7, revision: 3, position: 30 });
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then paces requests at the rate', async () => {
    let now = 0;
    const slept: number[] = [];
    const bucket = new TokenBucket({ ratePerSecond: 10, capacity: 3, now: () => now, sleep: async (ms) => { slept.push(ms); now += ms; } });
    for (let index = 0; index < 3; index++) await bucket.take();
    expect(slept).toEqual([]);
    await bucket.take();
    await bucket.take();
    expect(slept).toEqual([100, 100]);
    now += 10_000;
    expect(bucket.available()).toBe(3);
  });
});

describe('HttpMarketplaceAdapter (skeleton)', () => {
  const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };

  it('retries 429 and 5xx with backoff (honouring Retry-After) and sends absolute quantities', async () => {
    const answers = [new Response('', { status: 429, headers: { 'Retry-After': '0' } }), new Response('', { status: 503 }), new Response('{}', { status: 200 })];
    const requests: { url: string; init: RequestInit }[] = [];
    const fetch = (async (url: URL, init: RequestInit) => {
      requests.push({ url: String(url), init });
      return answers.shift() as Response;
    }) as unknown as typeof globalThis.fetch;
    const marketplace = new HttpMarketplaceAdapter({ baseUrl: 'https://mp.example/api', token: 't0ken', fetch, initialBackoffMs: 1, requestsPerSecond: 1_000, logger: quiet });
    await marketplace.setAvailable('TEE/M', 6);
    expect(requests).toHaveLength(3);
    expect(requests[0].url).toBe('https://mp.example/api/inventory/TEE%2FM');
    expect(requests[0].init).toMatchObject({ method: 'PUT', body: JSON.stringify({ sku: 'TEE/M', quantity: 6 }) });
    expect((requests[0].init.headers as Record<string, string>).Authorization).toBe('Bearer t0ken');
  });

  it('gives up on a 4xx at once (a refusal) and on repeated 5xx after its attempts', async () => {
    const refused = new HttpMarketplaceAdapter({ baseUrl: 'https://mp.example', token: 't', fetch: (async () => new Response('', { status: 400 })) as unknown as typeof fetch, logger: quiet });
    await expect(refused.setAvailable('A', 1)).rejects.toBeInstanceOf(AdapterRejectedError);
    let calls = 0;
    const failing = new HttpMarketplaceAdapter({
      baseUrl: 'https://mp.example',
      token: 't',
      maxAttempts: 3,
      initialBackoffMs: 1,
      fetch: (async () => {
        calls += 1;
        throw new Error('ECONNRESET');
      }) as unknown as typeof fetch,
      logger: quiet,
    });
    await expect(failing.setAvailable('A', 1)).rejects.toThrow(/ECONNRESET; gave up after 3 attempts/);
    expect(calls).toBe(3);
  });
});
