import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/**
 * A server in a child process, driven over HTTP: the ledger app (bench/support/app-server.ts) or the
 * Fastify + Redis anchor (bench/support/redis-http-server.ts).
 */
export class AppProcess {
  private constructor(private readonly child: ChildProcess, readonly url: string) {}

  static start(dataDir: string, env: Record<string, string>): Promise<AppProcess> {
    return AppProcess.fork('app-server.ts', [dataDir, JSON.stringify(env)]);
  }

  /** Fastify + Redis on the redis-server listening on `redisPort`. */
  static startRedisAnchor(redisPort: number): Promise<AppProcess> {
    return AppProcess.fork('redis-http-server.ts', [String(redisPort)]);
  }

  private static fork(script: string, args: string[]): Promise<AppProcess> {
    const child = fork(join(__dirname, script), args, {
      execArgv: ['-r', join(__dirname, 'register.js'), ...process.execArgv.filter((arg) => arg.startsWith('--cpu-prof') || arg.startsWith('--max-old'))],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      child.once('message', (message: { url?: string }) => (message.url ? resolve(new AppProcess(child, message.url)) : reject(new Error('app did not start'))));
      child.once('exit', (code) => reject(new Error(`app exited with ${code} before listening`)));
    });
  }

  private ask<T>(type: string, key: string, extra: Record<string, unknown> = {}): Promise<T> {
    return new Promise((resolve) => {
      const listener = (message: Record<string, unknown>) => {
        if (key in message) {
          this.child.off('message', listener);
          resolve(message[key] as T);
        }
      };
      this.child.on('message', listener);
      this.child.send({ type, ...extra });
    });
  }

  /** Peak and current resident MB of the app process, and the CPU seconds it has used so far. */
  rss(): Promise<{ peakMb: number; currentMb: number; cpuSeconds: number }> {
    return this.ask('rss', 'rss');
  }

  resetRss(): Promise<void> {
    return this.ask('reset-rss', 'reset');
  }

  /** The ledger app's own count of a SKU's stored holds: events, and distinct reservation ids among them. */
  storedHolds(sku: string): Promise<{ reservedEvents: number; distinctReservations: number }> {
    return this.ask('stored-holds', 'holds', { sku });
  }

  /** With BENCH_PROFILE=1: profiles the app process between the two calls. */
  async profileStart(): Promise<void> {
    await this.ask('profile-start', 'profiling');
  }

  async profileStop(name: string): Promise<void> {
    await this.ask('profile-stop', 'profiled', { name });
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.ask('close', 'closed');
    await exited;
  }
}

/** JSON over fetch, for setup and read-back. */
export async function call(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}
