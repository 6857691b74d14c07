import { Injectable } from '@nestjs/common';
import { InvalidCursorError, ProjectionManager, type ProjectionName } from '@ledger/projections';
import { ApiError, validationFailed } from '../errors/api-error';

const MAX_WAIT_MS = 2_000;

/** Read-your-writes for projection reads, and the translation of read-model errors. */
@Injectable()
export class ReadConsistency {
  constructor(private readonly projections: ProjectionManager) {}

  /** Waits until the projection has applied `minPosition`; 503 with Retry-After when it has not in time. */
  async atLeast(name: ProjectionName, minPosition: number | undefined): Promise<void> {
    if (minPosition === undefined) return;
    if (await this.projections.waitForPosition(name, minPosition, MAX_WAIT_MS)) return;
    throw new ApiError(503, 'NOT_YET_CONSISTENT', `the ${name} read model has not reached position ${minPosition} yet`, { minPosition }, 1);
  }

  page<T>(read: () => T): T {
    try {
      return read();
    } catch (error) {
      if (error instanceof InvalidCursorError) throw validationFailed([{ field: 'cursor', problems: [error.message] }]);
      throw error;
    }
  }
}
