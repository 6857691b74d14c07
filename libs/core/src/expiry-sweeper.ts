import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { CLOCK, LEDGER_CONFIG, type Clock, type LedgerConfig } from '@ledger/platform';
import { ExpireReservationsCommand } from './commands/expire-reservations.command';

/** Where the sweeper learns which SKUs have holds past their time (the reservations read model). */
export interface ExpiredHoldsSource {
  skusWithHoldsExpiredBy(now: number, limit: number): Promise<string[]>;
}

export const EXPIRED_HOLDS_SOURCE = Symbol('EXPIRED_HOLDS_SOURCE');

const SKUS_PER_SWEEP = 500;

/**
 * Releases holds whose time is up even when no sale comes along to release them lazily, so channel
 * counts do not stay low because of abandoned checkouts.
 */
@Injectable()
export class ExpirySweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ExpirySweeper.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    private readonly commandBus: CommandBus,
    @Inject(EXPIRED_HOLDS_SOURCE) private readonly source: ExpiredHoldsSource,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), this.config.sweepIntervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One pass; returns how many holds it released. Overlapping calls share the pass in flight. */
  sweep(): Promise<number> {
    this.running ??= this.sweepOnce().finally(() => (this.running = null));
    return this.running;
  }

  private async sweepOnce(): Promise<number> {
    let released = 0;
    try {
      const skus = await this.source.skusWithHoldsExpiredBy(this.clock.now(), SKUS_PER_SWEEP);
      for (const sku of skus) {
        const context = { commandId: `sweep:${sku}:${this.clock.now()}`, actor: 'system:sweeper', role: 'system', correlationId: `sweep:${this.clock.now()}` };
        const outcome = await this.commandBus.execute(new ExpireReservationsCommand(sku, context));
        released += (outcome.result as { expired: string[] }).expired.length;
      }
    } catch (error) {
      this.logger.warn(`expiry sweep failed, will retry: ${(error as Error).message}`);
    }
    return released;
  }
}
