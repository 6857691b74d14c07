export type DomainErrorCode =
  | 'INSUFFICIENT_STOCK'
  | 'IDEMPOTENCY_CONFLICT'
  | 'INVALID_STATE'
  | 'RESERVATION_NOT_FOUND'
  | 'RETURN_NOT_FOUND'
  | 'INVALID_COMMAND';

/** A command the ledger refuses; nothing is appended. `details` is safe to show to the caller. */
export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
