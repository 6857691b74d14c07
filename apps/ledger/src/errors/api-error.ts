import { HttpException, HttpStatus } from '@nestjs/common';

/** The one error shape clients see: {code, message, details}. */
export interface ApiErrorBody {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

export class ApiError extends HttpException {
  constructor(status: HttpStatus, code: string, message: string, details: Record<string, unknown> = {}, readonly retryAfterSeconds?: number) {
    super({ code, message, details } satisfies ApiErrorBody, status);
  }
}

export interface FieldProblem {
  field: string;
  problems: string[];
}

export function validationFailed(fields: FieldProblem[]): ApiError {
  const summary = fields.map((field) => `${field.field}: ${field.problems.join('; ')}`).join(', ');
  return new ApiError(HttpStatus.BAD_REQUEST, 'VALIDATION_FAILED', `invalid request: ${summary}`, { fields });
}
