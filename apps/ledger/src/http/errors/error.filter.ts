import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
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

/** Body-parser failures arrive as plain errors carrying a status and a type. */
interface BodyParserError {
  status?: number;
  statusCode?: number;
  type?: string;
}

/**
 * Maps every failure to {code, message, details}. Anything unexpected is a 500 with no internals in
 * the body; the log keeps the stack.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const { status, body, retryAfter } = this.describe(exception);
    if (retryAfter !== undefined) response.setHeader('Retry-After', String(retryAfter));
    if (!response.headersSent) response.status(status).json(body);
    else response.end();
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
    const parser = exception as BodyParserError;
    const parserStatus = parser?.status ?? parser?.statusCode;
    if (typeof parser?.type === 'string' && parserStatus && parserStatus < 500) return { status: parserStatus, body: fromBodyParser(parser, parserStatus) };
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
  // Nest turns body-parser's JSON errors into a bare 400: the body as a whole is what is wrong. The
  // router's bare 400 is a path that does not decode (a broken %-escape): the path is what is wrong.
  if (status === 400) {
    const field = /^Failed to decode param/.test(exception.message) ? 'path' : 'body';
    return { code: 'VALIDATION_FAILED', message: exception.message, details: { fields: [{ field, problems: [exception.message] }] } };
  }
  const codes: Record<number, string> = { 404: 'NOT_FOUND', 405: 'METHOD_NOT_ALLOWED', 413: 'PAYLOAD_TOO_LARGE' };
  return { code: codes[status] ?? 'HTTP_ERROR', message: exception.message, details: {} };
}

function fromBodyParser(error: BodyParserError, status: number): ApiErrorBody {
  if (error.type === 'entity.too.large') return { code: 'PAYLOAD_TOO_LARGE', message: 'the request body is over the size limit', details: {} };
  if (error.type === 'entity.parse.failed') {
    return { code: 'VALIDATION_FAILED', message: 'the request body is not valid JSON', details: { fields: [{ field: 'body', problems: ['malformed JSON'] }] } };
  }
  return { code: status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'VALIDATION_FAILED', message: 'the request body could not be read', details: { reason: error.type } };
}
