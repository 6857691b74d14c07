import type { FastifyReply } from 'fastify';
import type { CommandOutcome } from '@ledger/core';

/**
 * The body of a command's answer: its result plus the ledger position, which a later read can pass
 * as `minPosition` to see this write. A repeat says so in a header and answers as the first time.
 */
export function commandResponse(response: FastifyReply, outcome: CommandOutcome): Record<string, unknown> {
  if (outcome.position !== null) response.header('X-Ledger-Position', String(outcome.position));
  if (outcome.duplicate) response.header('Idempotent-Replayed', 'true');
  return { ...outcome.result, revision: outcome.revision, position: outcome.position };
}
