import { Injectable } from '@nestjs/common';

export interface ReadinessResult {
  ready: boolean;
  detail?: Record<string, unknown>;
}

/** A part of the service that must be working for it to take traffic (the store, projections, Kafka). */
export interface ReadinessCheck {
  name: string;
  check(): Promise<ReadinessResult>;
}

/** Modules register their checks here when they start. */
@Injectable()
export class Readiness {
  private readonly checks: ReadinessCheck[] = [];

  register(check: ReadinessCheck): void {
    this.checks.push(check);
  }

  all(): readonly ReadinessCheck[] {
    return this.checks;
  }
}
