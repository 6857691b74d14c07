import { existsSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
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
  /** The store or a file could not be read: missing, unreachable, not a ledger, an I/O error. */
  UNREADABLE: 3,
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
  /** How long a run lasts before its progress bar appears (on a terminal only); 500 ms by default. */
  progressAfterMs?: number;
}

// Lines under 80 columns: commander wraps each line on its own.
const DESCRIPTION = `The auditors' CLI: answers from replaying the ledger the service uses
(LEDGER_DATA_DIR, or EVENTSTORE_CONNECTION_STRING). It only reads.
Times are ISO 8601: 2026-01-31 (midnight UTC), 2026-01-31T23:59:59Z, ...+01:00.`;

const EXIT_CODES = `
Exit codes: 0 ok, 1 a check failed (verify found a break, movements do not balance),
            2 usage error, 3 the store or file could not be read.`;

/** A mistake in how the CLI was called that only the command itself can see (an unknown SKU). */
class UsageError extends Error {}

/** The store or a file could not be read. */
class UnreadableError extends Error {}

interface Context {
  io: CliIo;
  quiet: boolean;
  openStore(): EventStore;
  progress(label: string): Progress;
}

/** The CLI as a function: argv without node and script, streams to write to; resolves to the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let store: EventStore | null = null;
  const bars: Progress[] = [];
  let code: number = EXIT.OK;
  const context = (options: { quiet?: boolean }): Context => ({
    io,
    quiet: Boolean(options.quiet),
    openStore: () => {
      if (io.store) return io.store;
      store ??= openConfiguredStore(io.env ?? process.env);
      return store;
    },
    progress: (label) => {
      const bar = new Progress(io.stderr, label, { enabled: !options.quiet, afterMs: io.progressAfterMs });
      bars.push(bar);
      return bar;
    },
  });
  const program = buildProgram(io, (run) => async (...args: unknown[]) => {
    // commander calls an action with the arguments, the options, then the command itself.
    const options = args[args.length - 2] as { quiet?: boolean };
    code = await run(context(options), ...args);
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    // commander has written its own message (and the help, when that was asked for).
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    if (error instanceof UsageError) {
      io.stderr.write(`ledger: ${error.message}\n(ledger help <command> shows its arguments and options)\n`);
      return EXIT.USAGE;
    }
    if (error instanceof ConfigError) {
      io.stderr.write(`ledger: ${error.message}\n`);
      return EXIT.USAGE;
    }
    io.stderr.write(`ledger: ${error instanceof UnreadableError ? '' : 'could not read the ledger: '}${(error as Error)?.message ?? String(error)}\n`);
    return EXIT.UNREADABLE;
  } finally {
    for (const bar of bars) bar.done();
    if (store) await (store as EventStore).close().catch(() => undefined);
  }
}

type Action = (context: Context, ...args: any[]) => Promise<number>; // eslint-disable-line @typescript-eslint/no-explicit-any

function buildProgram(io: CliIo, action: (run: Action) => (...args: unknown[]) => Promise<void>): Command {
  // Settings made before .command() are inherited by every command.
  const program = new Command('ledger')
    .description(DESCRIPTION)
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .showHelpAfterError('(ledger help <command> shows its arguments and options)')
    .addHelpText('after', EXIT_CODES);
  const quiet = () => new Option('-q, --quiet', 'no progress bar on stderr');

  program
    .command('replay')
    .description("the SKU's full state as of a moment or a revision (JSON)")
    .argument('<sku>', 'the SKU')
    .addOption(new Option('--at <time>', 'as of this moment').argParser(moment).conflicts('revision'))
    .addOption(new Option('--revision <n>', 'as of this stream revision').argParser(wholeNumber))
    .addOption(quiet())
    .action(action(replay));

  program
    .command('balance')
    .description('stock of every SKU at every location as of a moment (CSV, or JSON lines)')
    .addOption(new Option('--at <time>', 'as of this moment (default: now)').argParser(moment))
    .option('--location <location>', 'one location only')
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'json']).default('csv'))
    .addOption(quiet())
    .action(action(balance));

  program
    .command('movements')
    .description('opening, receipts, sales, returns, write-offs, adjustments and closing for a period (JSON); exit 1 when they do not balance')
    .argument('<sku>', 'the SKU')
    .addOption(new Option('--from <time>', 'start of the period').argParser(moment).makeOptionMandatory())
    .addOption(new Option('--to <time>', 'end of the period').argParser(moment).makeOptionMandatory())
    .addOption(quiet())
    .action(action(movements));

  program
    .command('verify')
    .description('recompute every hash chain and invariant, of the live store or of an export; exit 1 on a break')
    .addOption(new Option('--sku <sku>', 'one SKU of the live store').conflicts('file'))
    .option('--file <export.jsonl>', 'an export written by `ledger export`, verified whole')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addOption(quiet())
    .action(action(verify));

  program
    .command('export')
    .description('events as JSON lines on stdout, verifiable offline')
    .addOption(new Option('--from <time>', 'events that happened at or after').argParser(moment))
    .addOption(new Option('--to <time>', 'events that happened at or before').argParser(moment))
    .addOption(quiet())
    .action(action(exportCommand));

  program
    .command('replay-all')
    .description('replay the whole ledger and report events/s (JSON)')
    .addOption(new Option('--mode <mode>', 'domain: the live evolve; figures: location sums only').choices(['domain', 'figures']).default('domain'))
    .addOption(quiet())
    .action(action(replayAllCommand));

  return program;
}

async function replay({ io, openStore }: Context, sku: string, options: { at?: Moment; revision?: number }): Promise<number> {
  const { streamExists, ...balance } = await skuBalance(openStore(), sku, { at: options.at ?? null, revision: options.revision ?? null });
  if (!streamExists) throw new UsageError(`no stock has ever been recorded for SKU ${sku}`);
  await write(io.stdout, `${JSON.stringify(balance, null, 2)}\n`);
  return EXIT.OK;
}

async function balance({ io, openStore, progress }: Context, options: { at?: Moment; location?: string; format: 'csv' | 'json' }): Promise<number> {
  const store = openStore();
  const bar = progress('balance');
  let rows = 0;
  const counted = async function* <T>(items: AsyncIterable<T>) {
    for await (const item of items) {
      rows += 1;
      yield item;
    }
  };
  const source = counted(stockAsOf(store, { at: options.at ?? null, location: options.location ?? null, onProgress: bar.update }));
  for await (const chunk of chunked(options.format === 'csv' ? stockCsv(source) : stockJsonLines(source))) await write(io.stdout, chunk);
  bar.done(`${rows.toLocaleString('en-US')} rows`);
  return EXIT.OK;
}

async function movements({ io, openStore }: Context, sku: string, { from, to }: { from: Moment; to: Moment }): Promise<number> {
  if (to.ms < from.ms) throw new UsageError('--to must not be before --from');
  const store = openStore();
  await requireSku(store, sku);
  const report = await movementReport(store, sku, from, to);
  await write(io.stdout, `${JSON.stringify(report, null, 2)}\n`);
  if (!report.balanced) io.stderr.write(`movements: NOT BALANCED: closing onHand differs from opening + movements by ${report.checks.onHand.difference}\n`);
  return report.balanced ? EXIT.OK : EXIT.CHECK_FAILED;
}

async function verify({ io, openStore, progress }: Context, options: { sku?: string; file?: string; format: 'text' | 'json' }): Promise<number> {
  const bar = progress('verify');
  let report: VerifyReport;
  if (options.file !== undefined) {
    if (!existsSync(options.file)) throw new UnreadableError(`no such file: ${options.file}`);
    if (!statSync(options.file).isFile()) throw new UnreadableError(`not a file: ${options.file}`);
    report = await verifyExportFile(options.file, { onProgress: ({ events }) => bar.update({ events }) });
  } else {
    const store = openStore();
    if (options.sku !== undefined) await requireSku(store, options.sku);
    report = await verifyStore(store, { sku: options.sku ?? null, onProgress: bar.update });
  }
  bar.done(`${report.events.toLocaleString('en-US')} events`);
  await write(io.stdout, options.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : describeReport(report, options.file));
  return report.ok ? EXIT.OK : EXIT.CHECK_FAILED;
}

async function exportCommand({ io, quiet, openStore, progress }: Context, { from, to }: { from?: Moment; to?: Moment }): Promise<number> {
  if (from && to && to.ms < from.ms) throw new UsageError('--to must not be before --from');
  const bar = progress('export');
  let lines = 0;
  for await (const chunk of chunked(exportEvents(openStore(), { from: from ?? null, to: to ?? null, onProgress: bar.update }))) {
    lines += countLines(chunk);
    await write(io.stdout, chunk);
  }
  bar.done(`${lines.toLocaleString('en-US')} events`);
  if (!quiet) {
    io.stderr.write(
      `export: ${lines.toLocaleString('en-US')} events${from || to ? ` from ${from?.iso ?? 'the start'} to ${to?.iso ?? 'now'}` : ''}.` +
        (from ? ' Streams that began earlier start mid-chain: verify checks their links from the first exported event on.\n' : '\n'),
    );
  }
  return EXIT.OK;
}

async function replayAllCommand({ io, openStore, progress }: Context, { mode }: { mode: 'domain' | 'figures' }): Promise<number> {
  const bar = progress('replay-all');
  const result = await replayAll(openStore(), bar.update, { mode });
  bar.done(`${result.events.toLocaleString('en-US')} events`);
  await write(io.stdout, `${JSON.stringify({ ...result, durationMs: Math.round(result.durationMs) }, null, 2)}\n`);
  return EXIT.OK;
}

async function requireSku(store: EventStore, sku: string): Promise<void> {
  const head = await store.readStream(skuStreamId(sku), { direction: 'backwards', maxCount: 1 });
  if (!head.streamExists) throw new UsageError(`no stock has ever been recorded for SKU ${sku}`);
}

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
  // The CLI only reads: it neither needs nor tries to write LEDGER_DATA_DIR.
  const config = loadConfig(env, { writableDataDir: false });
  if (config.eventStore.kind === 'sqlite' && !existsSync(config.eventStore.path)) {
    // Opening would create an empty ledger: an auditor pointed at the wrong directory should hear so.
    throw new UnreadableError(`no ledger at ${config.eventStore.path} (set LEDGER_DATA_DIR to the service's data directory)`);
  }
  return createEventStore(config.eventStore);
}

function moment(value: string): Moment {
  const parsed = parseMoment(value);
  if (!parsed) throw new InvalidArgumentError('expected an ISO 8601 date or time with a zone, e.g. 2026-01-31 or 2026-01-31T23:59:59Z.');
  return parsed;
}

function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError('expected a whole number.');
  return Number(value);
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
