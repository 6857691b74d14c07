import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import {
  chunked,
  exportEvents,
  movementReport,
  parseMoment,
  replayAll,
  skuBalance,
  stockAsOf,
  stockCsv,
  stockJsonLines,
  verifyExportFile,
  verifyStore,
  type ChainBreak,
  type Moment,
  type VerifyReport,
} from '@ledger/audit';
import { skuStreamId } from '@ledger/domain';
import { createEventStore, type EventStore } from '@ledger/event-store';
import { ConfigError, loadConfig } from '@ledger/platform';
import { Progress, type ProgressTarget } from './progress';

export const EXIT = {
  OK: 0,
  /** A check found a problem: verify found a break, or a movement report does not balance. */
  CHECK_FAILED: 1,
  USAGE: 2,
  /** The command could not run: store unreachable, I/O error. */
  FAILED: 3,
} as const;

export interface CliOutput extends ProgressTarget {
  write(chunk: string): boolean;
  once?(event: string, listener: () => void): unknown;
}

export interface CliIo {
  stdout: CliOutput;
  stderr: CliOutput;
  /** Environment read for the store configuration; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** A store to use instead of the configured one (tools and tests). Not closed by the CLI. */
  store?: EventStore;
}

export const USAGE = `Usage: ledger <command> [options]

Reads the ledger the service is configured for (LEDGER_DATA_DIR, or EVENTSTORE_CONNECTION_STRING).
Times are ISO 8601: 2026-01-31 (midnight UTC) or 2026-01-31T23:59:59Z / +01:00.

Commands:
  replay <sku> [--at T | --revision N]        the SKU's full state as of a moment or revision (JSON)
  balance [--at T] [--location L] [--format csv|json]
                                              stock of every SKU as of a moment (CSV, or JSON lines)
  movements <sku> --from T --to T             opening, receipts, sales, returns, write-offs,
                                              adjustments and closing for the period (JSON)
  verify [--sku S] [--file export.jsonl] [--format text|json]
                                              recompute hash chains and invariants (live or export)
  export [--from T] [--to T]                  events as JSON lines on stdout, verifiable offline
  replay-all [--mode domain|figures]          replay the whole ledger and report events/s

Options:
  -q, --quiet   no progress on stderr
  -h, --help    this text

Exit codes: 0 ok, 1 a check failed (verify found a break, movements do not balance),
            2 usage error, 3 could not run (store or file unreadable).
`;

class UsageError extends Error {}

const OPTIONS = {
  at: { type: 'string' },
  revision: { type: 'string' },
  location: { type: 'string' },
  format: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  sku: { type: 'string' },
  file: { type: 'string' },
  mode: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
}

/** The CLI as a function: argv without node and script, streams to write to; resolves to the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return usage(io, (error as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === 'help') {
    io.stdout.write(USAGE);
    return EXIT.OK;
  }
  if (!command) return usage(io, 'a command is required');
  const run = COMMANDS[command];
  if (!run) return usage(io, `unknown command "${command}"`);
  let store: EventStore | null = null;
  const ctx: Context = {
    io,
    values,
    args: rest,
    openStore: () => {
      if (io.store) return io.store;
      store ??= openConfiguredStore(io.env ?? process.env);
      return store;
    },
  };
  try {
    allowed(command, values);
    return await run(ctx);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`ledger: ${error.message}\n(ledger --help shows every command and option)\n`);
      return EXIT.USAGE;
    }
    if (error instanceof ConfigError) {
      io.stderr.write(`ledger: ${error.message}\n`);
      return EXIT.USAGE;
    }
    io.stderr.write(`ledger: ${command} failed: ${(error as Error)?.message ?? String(error)}\n`);
    return EXIT.FAILED;
  } finally {
    if (store) await (store as EventStore).close().catch(() => undefined);
  }
}

interface Context {
  io: CliIo;
  values: Values;
  args: string[];
  openStore(): EventStore;
}

const ALLOWED: Record<string, (keyof Values)[]> = {
  replay: ['at', 'revision'],
  balance: ['at', 'location', 'format'],
  movements: ['from', 'to'],
  verify: ['sku', 'file', 'format'],
  export: ['from', 'to'],
  'replay-all': ['mode'],
};

function allowed(command: string, values: Values): void {
  const permitted = new Set<string>([...(ALLOWED[command] ?? []), 'quiet', 'help']);
  const extra = Object.keys(values).filter((key) => values[key as keyof Values] !== undefined && !permitted.has(key));
  if (extra.length > 0) throw new UsageError(`${command} does not take --${extra.join(', --')}`);
}

const COMMANDS: Record<string, (ctx: Context) => Promise<number>> = {
  async replay({ io, values, args, openStore }) {
    const sku = oneArg(args, 'replay <sku>');
    if (values.at !== undefined && values.revision !== undefined) throw new UsageError('give --at or --revision, not both');
    const at = momentOption(values.at, '--at');
    const revision = values.revision === undefined ? null : wholeNumber(values.revision, '--revision');
    const { streamExists, ...balance } = await skuBalance(openStore(), sku, { at, revision });
    if (!streamExists) throw new UsageError(`no stock has ever been recorded for SKU ${sku}`);
    await write(io.stdout, `${JSON.stringify(balance, null, 2)}\n`);
    return EXIT.OK;
  },

  async balance({ io, values, args, openStore }) {
    noArgs(args, 'balance');
    const at = momentOption(values.at, '--at');
    const format = choice(values.format, '--format', ['csv', 'json'], 'csv');
    const store = openStore();
    const progress = new Progress(io.stderr, 'balance', !values.quiet);
    let rows = 0;
    const counted = async function* <T>(items: AsyncIterable<T>) {
      for await (const item of items) {
        rows += 1;
        yield item;
      }
    };
    const source = counted(stockAsOf(store, { at, location: values.location ?? null, onProgress: progress.update }));
    for await (const chunk of chunked(format === 'csv' ? stockCsv(source) : stockJsonLines(source))) await write(io.stdout, chunk);
    progress.done(`${rows.toLocaleString('en-US')} rows`);
    return EXIT.OK;
  },

  async movements({ io, values, args, openStore }) {
    const sku = oneArg(args, 'movements <sku> --from T --to T');
    const from = momentOption(values.from, '--from', true) as Moment;
    const to = momentOption(values.to, '--to', true) as Moment;
    if (to.ms < from.ms) throw new UsageError('--to must not be before --from');
    const store = openStore();
    const head = await store.readStream(skuStreamId(sku), { direction: 'backwards', maxCount: 1 });
    if (!head.streamExists) throw new UsageError(`no stock has ever been recorded for SKU ${sku}`);
    const report = await movementReport(store, sku, from, to);
    await write(io.stdout, `${JSON.stringify(report, null, 2)}\n`);
    if (!report.balanced) io.stderr.write(`movements: NOT BALANCED: closing onHand differs from opening + movements by ${report.checks.onHand.difference}\n`);
    return report.balanced ? EXIT.OK : EXIT.CHECK_FAILED;
  },

  async verify({ io, values, args, openStore }) {
    noArgs(args, 'verify');
    const format = choice(values.format, '--format', ['text', 'json'], 'text');
    if (values.file !== undefined && values.sku !== undefined) throw new UsageError('--sku checks the live store; an export file is verified whole');
    const progress = new Progress(io.stderr, 'verify', !values.quiet);
    let report: VerifyReport;
    if (values.file !== undefined) {
      if (!existsSync(values.file)) throw new UsageError(`no such file: ${values.file}`);
      report = await verifyExportFile(values.file, { onProgress: ({ events }) => progress.update({ events }) });
    } else {
      const store = openStore();
      if (values.sku !== undefined) {
        const head = await store.readStream(skuStreamId(values.sku), { direction: 'backwards', maxCount: 1 });
        if (!head.streamExists) throw new UsageError(`no stock has ever been recorded for SKU ${values.sku}`);
      }
      report = await verifyStore(store, { sku: values.sku ?? null, onProgress: progress.update });
    }
    progress.done(`${report.events.toLocaleString('en-US')} events`);
    await write(io.stdout, format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : describeReport(report, values.file));
    return report.ok ? EXIT.OK : EXIT.CHECK_FAILED;
  },

  async export({ io, values, args, openStore }) {
    noArgs(args, 'export');
    const from = momentOption(values.from, '--from');
    const to = momentOption(values.to, '--to');
    if (from && to && to.ms < from.ms) throw new UsageError('--to must not be before --from');
    const progress = new Progress(io.stderr, 'export', !values.quiet);
    let lines = 0;
    for await (const chunk of chunked(exportEvents(openStore(), { from, to, onProgress: progress.update }))) {
      lines += countLines(chunk);
      await write(io.stdout, chunk);
    }
    progress.done(`${lines.toLocaleString('en-US')} events`);
    if (!values.quiet) {
      io.stderr.write(
        `export: ${lines.toLocaleString('en-US')} events${from || to ? ` from ${from?.iso ?? 'the start'} to ${to?.iso ?? 'now'}` : ''}.` +
          (from ? ' Streams that began earlier start mid-chain: verify checks their links from the first exported event on.\n' : '\n'),
      );
    }
    return EXIT.OK;
  },

  async 'replay-all'({ io, values, args, openStore }) {
    noArgs(args, 'replay-all');
    const mode = choice(values.mode, '--mode', ['domain', 'figures'], 'domain');
    const progress = new Progress(io.stderr, 'replay-all', !values.quiet);
    const result = await replayAll(openStore(), progress.update, { mode });
    progress.done(`${result.events.toLocaleString('en-US')} events`);
    await write(io.stdout, `${JSON.stringify({ ...result, durationMs: Math.round(result.durationMs) }, null, 2)}\n`);
    return EXIT.OK;
  },
};

function describeReport(report: VerifyReport, file?: string): string {
  const source = file ? `export ${file}` : report.sku ? `SKU ${report.sku} in the live store` : 'the live store';
  const scope = `${report.events.toLocaleString('en-US')} events in ${report.streams} stream(s) (${report.skuStreams} SKU)`;
  const lines = [
    report.ok
      ? `verify: OK: ${source}: ${scope}, every hash chain and invariant holds (${report.durationMs} ms)`
      : `verify: BROKEN: ${source}: ${report.totalBreaks} break(s) in ${scope}`,
  ];
  if (report.firstBreak) {
    lines.push(`first break: ${describeBreak(report.firstBreak)}`);
    for (const extra of report.breaks.slice(1, 10)) lines.push(`also:        ${describeBreak(extra)}`);
    if (report.totalBreaks > 10) lines.push(`             ... ${report.totalBreaks - 10} more (--format json lists up to ${report.breaks.length})`);
  }
  for (const note of report.notes) lines.push(`note: ${note}`);
  return `${lines.join('\n')}\n`;
}

function describeBreak(problem: ChainBreak): string {
  const where = [
    problem.streamId ? `stream ${problem.streamId}` : null,
    problem.revision !== null ? `revision ${problem.revision}` : null,
    problem.position !== null ? `position ${problem.position}` : null,
    problem.eventId ? `event ${problem.eventId}` : null,
    problem.line !== undefined ? `line ${problem.line}` : null,
  ].filter(Boolean);
  const detail = [`${problem.kind} at ${where.join(', ')}: ${problem.message}`];
  if (problem.expectedHash !== undefined) detail.push(`\n               expected hash ${problem.expectedHash}\n               found hash    ${problem.foundHash ?? '(none)'}`);
  return detail.join('');
}

function openConfiguredStore(env: NodeJS.ProcessEnv): EventStore {
  const config = loadConfig(env, { writableDataDir: false });
  if (config.eventStore.kind === 'sqlite' && !existsSync(config.eventStore.path)) {
    // Opening would create an empty ledger: an auditor pointed at the wrong directory should hear so.
    throw new UsageError(`no ledger at ${config.eventStore.path} (set LEDGER_DATA_DIR to the service's data directory)`);
  }
  return createEventStore(config.eventStore);
}

function usage(io: CliIo, problem: string): number {
  io.stderr.write(`ledger: ${problem}\n\n${USAGE}`);
  return EXIT.USAGE;
}

function oneArg(args: string[], form: string): string {
  if (args.length !== 1 || !args[0]) throw new UsageError(`usage: ledger ${form}`);
  return args[0];
}

function noArgs(args: string[], command: string): void {
  if (args.length > 0) throw new UsageError(`${command} takes no argument "${args[0]}"`);
}

function momentOption(value: string | undefined, flag: string, required = false): Moment | null {
  if (value === undefined) {
    if (required) throw new UsageError(`${flag} is required`);
    return null;
  }
  const moment = parseMoment(value);
  if (!moment) throw new UsageError(`${flag} must be an ISO 8601 date or time with a zone, e.g. 2026-01-31 or 2026-01-31T23:59:59Z (got "${value}")`);
  return moment;
}

function wholeNumber(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new UsageError(`${flag} must be a whole number (got "${value}")`);
  return Number(value);
}

function choice<T extends string>(value: string | undefined, flag: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!choices.includes(value as T)) throw new UsageError(`${flag} must be one of ${choices.join(', ')} (got "${value}")`);
  return value as T;
}

function countLines(text: string): number {
  let count = 0;
  for (let index = text.indexOf('\n'); index >= 0; index = text.indexOf('\n', index + 1)) count += 1;
  return count;
}

/** Writes and waits for the stream to drain when its buffer is full, so memory stays flat on big outputs. */
async function write(stream: CliOutput, chunk: string): Promise<void> {
  if (stream.write(chunk)) return;
  if (typeof (stream as { once?: unknown }).once === 'function') await once(stream as unknown as NodeJS.EventEmitter, 'drain');
}
