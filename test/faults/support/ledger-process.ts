import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/** The repository root (test/faults/support -> ../../..). */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
/**
 * The service runs from its TypeScript sources through the require hook the benchmarks use
 * (bench/support/register.js: @swc/core, a devDependency, with the repository's .swcrc). No build
 * step and no stale dist/: a fresh clone after `npm ci` runs it, and it starts in about a second.
 */
export const TS_REGISTER = join(REPO_ROOT, 'bench', 'support', 'register.js');
export const MAIN_TS = join(REPO_ROOT, 'apps', 'ledger', 'src', 'main.ts');

export interface LedgerProcess {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  pid: number;
  dataDir: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** True until the process has exited. */
  alive(): boolean;
  /** Resolves with the exit code or signal once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL: no shutdown hooks, nothing flushed but what the OS already has. */
  kill(): Promise<void>;
  /** SIGTERM (graceful: Nest's shutdown hooks run), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  dataDir: string;
  /** Environment on top of a clean one (no inherited KAFKA_* or EVENTSTORE_*). */
  env?: Record<string, string>;
  /** How long to wait for GET /health/ready to answer 200. */
  readyTimeoutMs?: number;
  /** Wait for /health/live only (readiness may legitimately be false, e.g. Kafka down). */
  waitFor?: 'ready' | 'live';
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(KAFKA_|EVENTSTORE_|LEDGER_|PORT$|HOST$|LOG_LEVEL$|NODE_OPTIONS$)/.test(key)) continue;
    env[key] = value;
  }
  return env;
}

/** Starts `apps/ledger/src/main.ts` as a child process on a free loopback port and waits until it is ready. */
export async function startLedgerProcess(options: StartOptions): Promise<LedgerProcess> {
  if (!existsSync(TS_REGISTER)) throw new Error(`missing ${TS_REGISTER}: the TypeScript require hook the service runs through`);
  const port = await freePort();
  const child = spawn(process.execPath, ['-r', TS_REGISTER, MAIN_TS], {
    cwd: REPO_ROOT,
    env: { ...cleanEnv(), NO_COLOR: '1', LOG_LEVEL: 'warn', ...options.env, HOST: '127.0.0.1', PORT: String(port), LEDGER_DATA_DIR: options.dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit({ code, signal }));
  });
  let gone = false;
  void exited.then(() => (gone = true));
  const url = `http://127.0.0.1:${port}`;
  const running: LedgerProcess = {
    url,
    port,
    pid: child.pid as number,
    dataDir: options.dataDir,
    child,
    output: () => chunks.join(''),
    alive: () => !gone,
    exited,
    async kill() {
      if (!gone) child.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 10_000) {
      if (gone) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  const path = options.waitFor === 'live' ? '/health/live' : '/health/ready';
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (gone) throw new Error(`the ledger process exited before it was ready:\n${running.output()}`);
    if ((await probe(`${url}${path}`)) === 200) return running;
    if (Date.now() > deadline) {
      await running.kill();
      throw new Error(`the ledger process was not ready within the time allowed:\n${running.output()}`);
    }
    await new Promise((done) => setTimeout(done, 50));
  }
}

/** The status of a GET, or 0 when nothing answered. */
export function probe(url: string, timeoutMs = 2_000): Promise<number> {
  return new Promise((done) => {
    const req = httpRequest(url, { method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0));
      res.on('error', () => done(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(0));
    req.end();
  });
}
