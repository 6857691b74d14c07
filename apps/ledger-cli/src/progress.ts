import { SingleBar } from 'cli-progress';
import type { ScanProgress } from '@ledger/audit';

export interface ProgressTarget {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** False for --quiet. */
  enabled?: boolean;
  /** The bar appears only once a run has lasted this long, so quick runs print nothing extra. */
  afterMs?: number;
}

const BAR = '{label} [{bar}] {percentage}% {events} events, {rate} events/s';
/** When the store's head is unknown (an export file), a count is all there is to show. */
const COUNT = '{label}: {events} events, {rate} events/s';

/**
 * Progress of a long run: a cli-progress bar redrawn in place on stderr, on a terminal only (a pipe
 * or a log gets nothing but the command's own output). `done()` clears it and prints a summary line.
 */
export class Progress {
  private bar: SingleBar | null = null;
  private readonly started = Date.now();
  private readonly enabled: boolean;
  private readonly afterMs: number;

  constructor(
    private readonly target: ProgressTarget,
    private readonly label: string,
    { enabled = true, afterMs = 500 }: ProgressOptions = {},
  ) {
    this.enabled = enabled && target.isTTY === true;
    this.afterMs = afterMs;
  }

  readonly update = ({ events, position, head, elapsedMs }: Partial<ScanProgress> & { events: number }): void => {
    if (!this.enabled) return;
    const elapsed = elapsedMs ?? Date.now() - this.started;
    if (!this.bar && elapsed < this.afterMs) return;
    const payload = {
      label: this.label,
      events: events.toLocaleString('en-US'),
      rate: (elapsed > 0 ? Math.round((events / elapsed) * 1000) : 0).toLocaleString('en-US'),
    };
    const total = head ?? null;
    if (!this.bar) {
      this.bar = new SingleBar({
        stream: this.target as NodeJS.WritableStream,
        format: total ? BAR : COUNT,
        barsize: 24,
        barCompleteChar: '#',
        barIncompleteChar: '.',
        hideCursor: false,
        clearOnComplete: true,
        linewrap: false,
        fps: 10,
      });
    }
    const value = total ? Math.min(position ?? 0, total) : 0;
    // start() draws at once; later updates are drawn by the bar's own timer (10 frames a second).
    if (!this.bar.isActive) this.bar.start(total ?? 1, value, payload);
    if (total) this.bar.setTotal(total);
    this.bar.update(value, payload);
  };

  /** Clears the bar; prints a summary line when a bar was shown. Safe to call more than once. */
  done(summary?: string): void {
    if (!this.bar) return;
    this.bar.stop();
    this.bar = null;
    if (summary) this.target.write(`${this.label}: ${summary}\n`);
  }
}
