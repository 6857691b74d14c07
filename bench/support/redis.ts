import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import Redis from 'ioredis';

/**
 * The anchor a team would deploy for a flash sale instead of a ledger: Redis with one Lua script per
 * reservation, its append-only file synced on every write (`appendfsync always`: an acknowledged
 * decrement is on disk, as an acknowledged ledger event is).
 */
export const INSTALL_HINT = 'redis-server is not installed: `apt-get install -y redis-server` (Debian) to get the Redis anchor lines';

/** Refuses a reservation id it has seen, checks the stock, decrements it and records the id, atomically. */
export const RESERVE_LUA = `
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return -1 end
local stock = tonumber(redis.call('GET', KEYS[1]) or '0')
local quantity = tonumber(ARGV[2])
if stock < quantity then return -2 end
redis.call('DECRBY', KEYS[1], quantity)
redis.call('SADD', KEYS[2], ARGV[1])
return stock - quantity
`;

export type ReservingRedis = Redis & { reserve(stockKey: string, idsKey: string, reservationId: string, quantity: number): Promise<number> };

/** One client with the script defined (EVALSHA after the first call). */
export function reservingClient(port: number): ReservingRedis {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: false, maxRetriesPerRequest: 1 });
  client.defineCommand('reserve', { numberOfKeys: 2, lua: RESERVE_LUA });
  return client as ReservingRedis;
}

export function stockKey(sku: string): string {
  return `stock:${sku}`;
}

export function idsKey(sku: string): string {
  return `reservations:${sku}`;
}

/** The path of redis-server, or null when it is not installed. */
export function redisServerPath(): string | null {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : null;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface RedisServer {
  port: number;
  pid: number;
  /** CPU seconds (user + system) the server has used so far, from /proc. */
  cpuSeconds(): number;
  /** Peak resident MB of the server (VmHWM), from /proc. */
  peakRssMb(): number;
  stop(): Promise<void>;
}

/** Starts redis-server on a free loopback port, AOF with appendfsync always, in `dir`; no RDB snapshots. */
export async function startRedis(binary: string, dir: string): Promise<RedisServer> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no', '--loglevel', 'warning'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    // Refused while the server starts: expected, answered by the retry below.
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') {
        probe.disconnect();
        break;
      }
    } catch {
      probe.disconnect();
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`redis-server did not answer on port ${port}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const pid = child.pid as number;
  const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return {
    port,
    pid,
    cpuSeconds() {
      // /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks, after the ")" of the name.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) / ticks;
    },
    peakRssMb() {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return match ? Math.round(Number(match[1]) / 102.4) / 10 : NaN;
    },
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
