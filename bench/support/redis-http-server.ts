import Fastify from 'fastify';
import { RssSampler } from './measure';
import { idsKey, reservingClient, stockKey } from './redis';

/**
 * The HTTP half of the Redis anchor, in a process of its own as the ledger app is: Fastify with the
 * reservation route a team would write (JSON schema on the body, one Lua call per request, 201 or
 * 409), one ioredis client. Parent messages as bench/support/app-server.ts: {type: 'rss'}, {type:
 * 'reset-rss'}, {type: 'close'}; first message sent: {url}.
 */
async function main(): Promise<void> {
  const [redisPort] = process.argv.slice(2);
  const rss = new RssSampler().start();
  const redis = reservingClient(Number(redisPort));
  const app = Fastify({ logger: false });
  app.post<{ Params: { sku: string }; Body: { reservationId: string; channel: string; quantity: number } }>(
    '/v1/skus/:sku/reservations',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['reservationId', 'channel', 'quantity'],
          properties: {
            reservationId: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._:@~-]*$' },
            channel: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._@~-]*$' },
            quantity: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
          },
        },
      },
    },
    async (request, reply) => {
      const { sku } = request.params;
      const { reservationId, quantity } = request.body;
      const left = await redis.reserve(stockKey(sku), idsKey(sku), reservationId, quantity);
      if (left === -1) return reply.code(409).send({ code: 'DUPLICATE', message: `${reservationId} was already taken` });
      if (left === -2) return reply.code(409).send({ code: 'INSUFFICIENT_STOCK', message: `not enough ${sku}` });
      return reply.code(201).send({ reservationId, sku, quantity, available: left });
    },
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address() as { port: number };
  process.on('message', async (message: { type: string }) => {
    if (message.type === 'rss') {
      const cpu = process.cpuUsage();
      process.send?.({ rss: { peakMb: rss.peakMb, currentMb: rss.sample(), cpuSeconds: (cpu.user + cpu.system) / 1e6 } });
    } else if (message.type === 'reset-rss') {
      rss.reset();
      process.send?.({ reset: true });
    } else if (message.type === 'close') {
      await app.close();
      redis.disconnect();
      rss.stop();
      process.send?.({ closed: true }, () => process.exit(0));
    }
  });
  process.send?.({ url: `http://127.0.0.1:${address.port}` });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
