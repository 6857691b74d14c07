import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ManualClock } from '@ledger/platform';
import { EXIT, main } from '@app/ledger-cli/cli';
import { Progress } from '@app/ledger-cli/progress';
import { createClient, type HttpClient } from '../support/http';
import { startTestApp, type TestApp } from '../support/test-app';

const ROOT = resolve(__dirname, '..', '..');
const T0 = Date.parse('2026-04-01T09:00:00.000Z');

/** Collects what the CLI writes. */
class Sink {
  text = '';
  isTTY = false;
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

describe('ledger CLI on a data directory written by the app', () => {
  const clock = new ManualClock(T0);
  const work = mkdtempSync(join(tmpdir(), 'ledger-cli-'));
  const dataDir = join(work, 'data');
  let testApp: TestApp | null = null;
  let http: HttpClient;
  const moments: Record<string, string> = {};
  const live: Record<string, any> = {};
  const tamperedFile = join(work, 'tampered.jsonl');

  async function cli(args: string[], env: NodeJS.ProcessEnv = { LEDGER_DATA_DIR: dataDir }) {
    const stdout = new Sink();
    const stderr = new Sink();
    const code = await main(args, { stdout, stderr, env });
    return { code, stdout: stdout.text, stderr: stderr.text };
  }

  async function at(label: string, seconds: number, run: () => Promise<{ status: number }>) {
    clock.advance(seconds * 1000);
    const answer = await run();
    expect(answer.status).toBeLessThan(300);
    moments[label] = new Date(clock.now()).toISOString();
    live[label] = (await http.get('/v1/skus/CLI-1')).body;
  }

  beforeAll(async () => {
    testApp = await startTestApp({ clock, dataDir });
    http = createClient(testApp.url);
    await http.put('/v1/channels/web', { locations: ['wh-1', 'wh-2'] });
    await at('received', 60, () => http.post('/v1/skus/CLI-1/receipts', { receiptId: 'r-1', location: 'wh-1', quantity: 12 }));
    await at('second', 60, () => http.post('/v1/skus/CLI-1/receipts', { receiptId: 'r-2', location: 'wh-2', quantity: 5 }));
    await at('reserved', 60, () => http.post('/v1/skus/CLI-1/reservations', { reservationId: 'h-1', channel: 'web', quantity: 14, ttlSeconds: 86_400 }));
    await at('committed', 60, () => http.post('/v1/skus/CLI-1/reservations/h-1/commit'));
    await at('other', 60, () => http.post('/v1/skus/CLI-2/receipts', { receiptId: 'o-1', location: 'wh-1', quantity: 3 }));
    await at('returned', 60, () => http.post('/v1/skus/CLI-1/returns', { returnId: 'x-1', location: 'wh-1', quantity: 2 }));
    await at('inspected', 60, () => http.post('/v1/skus/CLI-1/returns/x-1/inspection', { restockQuantity: 1, writeOffQuantity: 1 }));
    await at('counted', 60, () => http.post('/v1/skus/CLI-1/adjustments', { adjustmentId: 'c-1', location: 'wh-2', countedQuantity: 0, reason: 'cycle_count' }));
  });

  afterAll(async () => {
    http?.close();
    await testApp?.close({ keepData: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('replay <sku> --at T gives what the live API said then (while the service runs)', async () => {
    for (const label of ['second', 'reserved', 'committed', 'counted']) {
      const { code, stdout } = await cli(['replay', 'CLI-1', '--at', moments[label]]);
      expect(code).toBe(EXIT.OK);
      const balance = JSON.parse(stdout);
      expect(balance).toMatchObject({ sku: 'CLI-1', revision: live[label].revision, totals: live[label].totals, locations: live[label].locations });
      expect(balance.channels.web.available).toBe(live[label].channels.web.available);
    }
    const byRevision = JSON.parse((await cli(['replay', 'CLI-1', '--revision', '1'])).stdout);
    expect(byRevision.totals).toEqual(live.second.totals);
  });

  it('balance --at T streams every SKU as the HTTP report does, as CSV or JSON lines', async () => {
    const csv = await cli(['balance', '--at', moments.returned]);
    expect(csv.code).toBe(EXIT.OK);
    expect(csv.stdout).toBe((await http.get(`/v1/reports/stock?at=${moments.returned}`)).text);
    expect(csv.stdout.split('\n')).toContain('CLI-2,wh-1,3,0,3,0,0,0');
    const json = await cli(['balance', '--location', 'wh-1', '--format', 'json', '-q']);
    expect(json.stdout).toBe((await http.get('/v1/reports/stock?location=wh-1&format=json')).text);
    expect(json.stdout.trim().split('\n').map((line) => JSON.parse(line).sku)).toEqual(['CLI-1', 'CLI-2']);
  });

  it('movements <sku> --from --to reports a balanced period', async () => {
    const { code, stdout } = await cli(['movements', 'CLI-1', '--from', moments.received, '--to', moments.counted]);
    expect(code).toBe(EXIT.OK);
    const report = JSON.parse(stdout);
    expect(report).toEqual((await http.get(`/v1/skus/CLI-1/movements?from=${moments.received}&to=${moments.counted}`)).body);
    expect(report).toMatchObject({ balanced: true, opening: { onHand: 12 }, closing: { onHand: live.counted.totals.onHand }, movements: { receipts: 5, sales: { committed: 14 } } });
  });

  it('verify checks the live store, all or one SKU', async () => {
    const all = await cli(['verify']);
    expect(all.code).toBe(EXIT.OK);
    expect(all.stdout).toMatch(/^verify: OK: the live store: 9 events in 3 stream\(s\) \(2 SKU\)/);
    const one = await cli(['verify', '--sku', 'CLI-2', '--format', 'json']);
    expect(JSON.parse(one.stdout)).toMatchObject({ ok: true, sku: 'CLI-2', events: 1 });
  });

  it('export writes JSON lines that verify offline; a tampered export is pinpointed with exit 1', async () => {
    const full = await cli(['export']);
    expect(full.code).toBe(EXIT.OK);
    const lines = full.stdout.trim().split('\n');
    expect(lines).toHaveLength(9);
    expect(Object.keys(JSON.parse(lines[0]))).toEqual(['streamId', 'revision', 'position', 'id', 'type', 'data', 'metadata', 'recordedAt']);
    const file = join(work, 'export.jsonl');
    writeFileSync(file, full.stdout);
    const clean = await cli(['verify', '--file', file]);
    expect(clean.code).toBe(EXIT.OK);
    expect(clean.stdout).toMatch(/^verify: OK: export .*: 9 events/);

    const partial = await cli(['export', '--from', moments.committed, '--to', moments.inspected]);
    expect(partial.stderr).toMatch(/mid-chain/);
    const partialFile = join(work, 'partial.jsonl');
    writeFileSync(partialFile, partial.stdout);
    const partialCheck = await cli(['verify', '--file', partialFile]);
    expect(partialCheck.code).toBe(EXIT.OK);
    expect(partialCheck.stdout).toMatch(/note: 1 stream\(s\) start mid-chain/);

    const target = JSON.parse(lines[4]);
    const tampered = [...lines];
    tampered[4] = JSON.stringify({ ...target, data: { ...target.data, quantity: target.data.quantity + 100 } });
    writeFileSync(tamperedFile, `${tampered.join('\n')}\n`);
    const broken = await cli(['verify', '--file', tamperedFile]);
    expect(broken.code).toBe(EXIT.CHECK_FAILED);
    expect(broken.stdout).toContain('verify: BROKEN');
    expect(broken.stdout).toContain(
      `first break: hash-mismatch at stream ${target.streamId}, revision ${target.revision}, position ${target.position}, event ${target.id}, line 5`,
    );
    expect(broken.stdout).toContain(`found hash    ${target.metadata.hash}`);
  });

  it('answers usage errors with exit 2 and says what is wrong', async () => {
    const cases: [string[], RegExp, NodeJS.ProcessEnv?][] = [
      [[], /^Usage: ledger \[options\] \[command\]/],
      [['frobnicate'], /error: unknown command 'frobnicate'/],
      [['replay'], /error: missing required argument 'sku'/],
      [['replay', 'CLI-1', 'CLI-2'], /error: too many arguments for 'replay'/],
      [['replay', 'CLI-1', '--at', 'noon'], /error: option '--at <time>' argument 'noon' is invalid. expected an ISO 8601 date/],
      [['replay', 'CLI-1', '--at', moments.received, '--revision', '1'], /error: option '--at <time>' cannot be used with option '--revision <n>'/],
      [['replay', 'CLI-1', '--revision', '-1'], /error: unknown option '-1'|argument '-1' is invalid/],
      [['replay', 'CLI-1', '--revision', '1.5'], /error: option '--revision <n>' argument '1.5' is invalid. expected a whole number/],
      [['replay', 'NOPE'], /^ledger: no stock has ever been recorded for SKU NOPE/],
      [['balance', '--format', 'xml'], /error: option '--format <format>' argument 'xml' is invalid. Allowed choices are csv, json/],
      [['balance', '--sku', 'CLI-1'], /error: unknown option '--sku'/],
      [['balance', '--bogus'], /error: unknown option '--bogus'/],
      [['balance', 'extra'], /error: too many arguments for 'balance'/],
      [['movements', 'CLI-1', '--from', '2026-04-01'], /error: required option '--to <time>' not specified/],
      [['movements', 'CLI-1', '--from', '2026-04-02', '--to', '2026-04-01'], /--to must not be before --from/],
      [['verify', '--sku', 'CLI-1', '--file', 'x.jsonl'], /error: option '--sku <sku>' cannot be used with option '--file <export.jsonl>'/],
      [['verify', '--sku', 'NOPE'], /no stock has ever been recorded for SKU NOPE/],
      [['export', '--from', '2026-02-30'], /error: option '--from <time>' argument '2026-02-30' is invalid/],
      [['verify'], /LEDGER_API_TOKENS/, { LEDGER_DATA_DIR: dataDir, LEDGER_API_TOKENS: 'ops:short' }],
    ];
    for (const [args, message, env] of cases) {
      const { code, stderr, stdout } = await cli(args, env);
      expect({ args, code, stdout }).toEqual({ args, code: EXIT.USAGE, stdout: '' });
      expect(stderr).toMatch(message);
    }
  });

  it('answers exit 3 when the store or file cannot be read', async () => {
    const garbage = join(work, 'garbage');
    mkdirSync(garbage, { recursive: true });
    writeFileSync(join(garbage, 'ledger.db'), 'this is not an SQLite database, it is long enough to have a header though');
    const cases: [string[], RegExp, NodeJS.ProcessEnv?][] = [
      [['verify'], /^ledger: no ledger at .*nowhere/, { LEDGER_DATA_DIR: join(work, 'nowhere') }],
      [['export'], /no ledger at .*nowhere/, { LEDGER_DATA_DIR: join(work, 'nowhere') }],
      [['verify'], /^ledger: could not read the ledger: .*not a database/, { LEDGER_DATA_DIR: garbage }],
      [['replay', 'CLI-1'], /could not read the ledger/, { LEDGER_DATA_DIR: garbage }],
      [['verify', '--file', join(work, 'missing.jsonl')], /^ledger: no such file: .*missing\.jsonl/],
      [['verify', '--file', work], /^ledger: not a file: /],
    ];
    for (const [args, message, env] of cases) {
      const { code, stderr } = await cli(args, env);
      expect({ args, code }).toEqual({ args, code: EXIT.UNREADABLE });
      expect(stderr).toMatch(message);
    }
  });

  it('has help for the program and for each command', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(EXIT.OK);
    expect(top.stdout).toMatch(/^Usage: ledger \[options\] \[command\]/);
    for (const command of ['replay', 'balance', 'movements', 'verify', 'export', 'replay-all']) expect(top.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(top.stdout).toContain('Exit codes: 0 ok, 1 a check failed');
    for (const args of [['help', 'movements'], ['movements', '--help']]) {
      const help = await cli(args);
      expect(help.code).toBe(EXIT.OK);
      expect(help.stdout).toMatch(/^Usage: ledger movements \[options\] <sku>/);
      expect(help.stdout).toContain('--from <time>');
      expect(help.stdout).toContain('-q, --quiet');
    }
    expect((await cli(['verify', '--help'])).stdout).toMatch(/--format <format>\s+output format \(choices: "text", "json", default:\s+"text"\)/);
  });

  it('runs as the real compiled program via the launcher the npm script calls (built when stale)', async () => {
    http.close();
    await testApp?.close({ keepData: true });
    testApp = null;
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
        const child = spawn(process.execPath, [join(ROOT, 'apps/ledger-cli/bin/ledger.js'), ...args], {
          cwd: ROOT,
          env: { ...process.env, LEDGER_DATA_DIR: dataDir, LEDGER_API_TOKENS: '' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk) => (stdout += chunk));
        child.stderr.on('data', (chunk) => (stderr += chunk));
        child.on('error', fail);
        child.on('close', (code) => done({ code, stdout, stderr }));
      });
    const verified = await run(['verify']);
    expect({ code: verified.code, stdout: verified.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(/^verify: OK: the live store: 9 events/) });
    const broken = await run(['verify', '--file', tamperedFile]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('first break: hash-mismatch');
  }, 240_000);
});

describe('CLI progress on stderr', () => {
  /** A stand-in terminal (or pipe) that keeps what was written. */
  const target = (isTTY: boolean) => ({ text: '', isTTY, columns: 120, write(chunk: string) { this.text += chunk; return true; } });

  it('draws a cli-progress bar on a terminal once a run lasts, then clears it for a summary line', () => {
    const tty = target(true);
    const bar = new Progress(tty, 'verify', { afterMs: 1_000 });
    bar.update({ events: 500, position: 500, head: 20_000, elapsedMs: 50 });
    expect(tty.text).toBe(''); // a quick run shows nothing
    bar.update({ events: 5_000, position: 5_000, head: 20_000, elapsedMs: 1_250 });
    expect(tty.text).toContain('verify [######..................] 25% 5,000 events, 4,000 events/s');
    bar.done('20,000 events');
    expect(tty.text.endsWith('verify: 20,000 events\n')).toBe(true);
    bar.done(); // idempotent: the CLI also calls it when a run fails
    expect(tty.text.endsWith('verify: 20,000 events\n')).toBe(true);

    const count = target(true);
    const file = new Progress(count, 'verify', { afterMs: 0 });
    file.update({ events: 7_000, elapsedMs: 1_000 });
    expect(count.text).toContain('verify: 7,000 events, 7,000 events/s');
    file.done();
  });

  it('writes nothing when stderr is not a terminal, or with --quiet', () => {
    for (const [out, options] of [[target(false), {}], [target(true), { enabled: false }]] as const) {
      const bar = new Progress(out, 'export', { afterMs: 0, ...options });
      bar.update({ events: 9_000, position: 9_000, head: 10_000, elapsedMs: 60_000 });
      bar.done('10,000 events');
      expect(out.text).toBe('');
    }
  });
});
