import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { CommandContext } from '@ledger/core';
import type { AuthenticatedRequest } from './auth/token.guard';
import { ID_MAX_LENGTH } from '../commands/validators';

const HEADER_PATTERN = /^[\x21-\x7e]{1,200}$/;

/**
 * The CommandContext of an HTTP command: the acting token, the caller's correlation id
 * (X-Correlation-Id) and command id (Idempotency-Key or X-Command-Id); fresh ones when absent.
 */
export const Ctx = createParamDecorator((defaultCommandId: string | undefined, host: ExecutionContext): CommandContext => {
  const request = host.switchToHttp().getRequest<AuthenticatedRequest>();
  const principal = request.principal ?? { name: 'local', role: 'ops' };
  const header = (name: string) => {
    const value = request.headers[name];
    return typeof value === 'string' && value.length <= ID_MAX_LENGTH && HEADER_PATTERN.test(value) ? value : undefined;
  };
  const commandId = header('idempotency-key') ?? header('x-command-id') ?? randomUUID();
  return {
    commandId,
    actor: principal.name,
    role: principal.role,
    correlationId: header('x-correlation-id') ?? commandId,
  };
});
