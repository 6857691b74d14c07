import type { ScanProgress } from '@ledger/audit';

export interface ProgressTarget {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const TTY_EVERY_MS = 100;
const LINE_EVERY_MS = 5_000;
const BAR_WIDTH = 24;

/**
 * Progress of a long run on stderr: a bar redrawn in place on a terminal, an occasional plain line
 * otherwise (logs, CI). Nothing at all for runs that finish quickly without a terminal.
 */
export class Progress {
  private lastDraw = 0;
  private drawn = false;
  private readonly tty: boolean;
  private readonly started = Date.now();

  constructor(
    private readonly target: ProgressTarget,
    private readonly label: string,
    private readonly enabled = true,
  ) {
    this.tty = Boolean(target.isTTY);
  }

  readonly update = (progress: Partial<ScanProgress> & { events: number }): void => {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < (this.tty ? TTY_EVERY_MS : LINE_EVERY_MS)) return;
    if (!this.tty && !this.drawn && now - this.started < LINE_EVERY_MS) return;
    this.lastDraw = now;
    this.drawn = true;
    const text = this.describe(progress);
    if (this.tty) this.target.write(`\r\x1b[2K${text.slice(0, Math.max(20, (this.target.columns ?? 100) - 1))}`);
    else this.target.write(`${text}\n`);
  };

  /** Ends the bar; prints a last line when anything was shown. */
  done(summary?: string): void {
    if (!this.enabled) return;
    if (this.tty && this.drawn) this.target.write('\r\x1b[2K');
    if (summary && this.drawn) this.target.write(`${this.label}: ${summary}\n`);
  }

  private describe({ events, position, head, elapsedMs }: Partial<ScanProgress> & { events: number }): string {
    const elapsed = elapsedMs ?? Date.now() - this.started;
    const rate = elapsed > 0 ? Math.round((events / elapsed) * 1000) : 0;
    const fraction = head && position ? Math.min(1, position / head) : null;
    const counts = `${events.toLocaleString('en-US')} events, ${rate.toLocaleString('en-US')} events/s`;
    if (fraction === null) return `${this.label}: ${counts}`;
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    if (!this.tty) return `${this.label}: ${percent} ${counts}`;
    const filled = Math.round(fraction * BAR_WIDTH);
    return `${this.label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${percent} ${counts}`;
  }
}
