import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DomainError, type DomainErrorCode } from '@ledger/domain';
import { EventStoreUnavailableError } from '@ledger/event-store';
import { ConcurrencyRetriesExhaustedError } from '@ledger/core';
import { ApiError, type ApiErrorBody } from '../../errors/api-error';

const DOMAIN_STATUS: Record<DomainErrorCode, HttpStatus> = {
  INSUFFICIENT_STOCK: HttpStatus.CONFLICT,
  IDEMPOTENCY_CONFLICT: HttpStatus.CONFLICT,
  INVALID_STATE: HttpStatus.CONFLICT,
  RESERVATION_NOT_FOUND: HttpStatus.NOT_FOUND,
  RETURN_NOT_FOUND: HttpStatus.NOT_FOUND,
  INVALID_COMMAND: HttpStatus.BAD_REQUEST,
};

/**
 * Fastify's own refusals (e.g. a Content-Type header that does not parse) carry a status and an FST_
 * code; the static files of /docs refuse a path like /docs/.. with an http-errors 403 (`expose`).
 */
interface FrameworkError {
  statusCode?: number;
  code?: string;
  expose?: boolean;
  message?: string;
}

/**
 * Maps every failure to {code, message, details}. Anything unexpected is a 500 with no internals in
 * the body; the log keeps the stack.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, body, retryAfter } = this.describe(exception);
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.end();
      return;
    }
    if (retryAfter !== undefined) reply.header('Retry-After', String(retryAfter));
    void reply.status(status).send(body);
  }

  private describe(exception: unknown): { status: number; body: ApiErrorBody; retryAfter?: number } {
    if (exception instanceof DomainError) {
      const status = DOMAIN_STATUS[exception.code];
      if (exception.code === 'INVALID_COMMAND') {
        const field = String(exception.details.field ?? 'body');
        return { status, body: { code: 'VALIDATION_FAILED', message: exception.message, details: { fields: [{ field, problems: [exception.message] }] } } };
      }
      return { status, body: { code: exception.code, message: exception.message, details: exception.details } };
    }
    if (exception instanceof EventStoreUnavailableError) {
      return { status: 503, retryAfter: 1, body: { code: 'STORE_UNAVAILABLE', message: 'the ledger store cannot be reached; retry shortly', details: {} } };
    }
    if (exception instanceof ConcurrencyRetriesExhaustedError) {
      return { status: 503, retryAfter: 1, body: { code: 'BUSY', message: 'the SKU is changing too fast; retry the same command', details: {} } };
    }
    if (exception instanceof ApiError) {
      return { status: exception.getStatus(), body: exception.getResponse() as ApiErrorBody, retryAfter: exception.retryAfterSeconds };
    }
    if (exception instanceof HttpException) return { status: exception.getStatus(), body: fromHttpException(exception) };
    const framework = exception as FrameworkError;
    const fromFramework4xx = (typeof framework?.code === 'string' && framework.code.startsWith('FST_')) || framework?.expose === true;
    if (fromFramework4xx && framework.statusCode && framework.statusCode >= 400 && framework.statusCode < 500) {
      return { status: framework.statusCode, body: fromFramework(framework, framework.statusCode) };
    }
    this.logger.error('unexpected error', (exception as Error)?.stack ?? String(exception));
    return { status: 500, body: { code: 'INTERNAL', message: 'unexpected error; it has been logged', details: {} } };
  }
}

function fromHttpException(exception: HttpException): ApiErrorBody {
  const response = exception.getResponse();
  if (typeof response === 'object' && response && 'code' in response) {
    const { code, message, details } = response as Partial<ApiErrorBody>;
    return { code: String(code), message: String(message ?? exception.message), details: details ?? {} };
  }
  const status = exception.getStatus();
  // Nest turns a stray SyntaxError (a body that did not parse) into a bare 400: the body as a whole is what is wrong.
  if (status === 400) {
    return { code: 'VALIDATION_FAILED', message: exception.message, details: { fields: [{ field: 'body', problems: [exception.message] }] } };
  }
  const codes: Record<number, string> = { 404: 'NOT_FOUND', 405: 'METHOD_NOT_ALLOWED', 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE' };
  return { code: codes[status] ?? 'HTTP_ERROR', message: exception.message, details: {} };
}

function fromFramework(error: FrameworkError, status: number): ApiErrorBody {
  if (status === 413) return { code: 'PAYLOAD_TOO_LARGE', message: 'the request body is over the size limit', details: {} };
  if (status === 415) return { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'send the body as application/json', details: {} };
  const message = error.message ?? 'the request could not be read';
  if (status === 400) return { code: 'VALIDATION_FAILED', message, details: { fields: [{ field: 'body', problems: [message] }] } };
  const codes: Record<number, string> = { 403: 'FORBIDDEN', 404: 'NOT_FOUND' };
  return { code: codes[status] ?? 'HTTP_ERROR', message, details: error.code ? { reason: error.code } : {} };
}
