import { ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { validationFailed, type FieldProblem } from '../errors/api-error';
import { fastBodyValidator } from './fast-body-validation';

/** Keys that Nest's pipe deletes silently (prototype pollution guard): we refuse them like any unknown field. */
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'];

/**
 * A body must be one JSON object. Anything else is refused as a whole (`body`), and keys that would
 * otherwise be dropped without a word are refused by name.
 */
export function assertBodyObject(value: unknown): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw validationFailed([{ field: 'body', problems: ['the body must be a JSON object'] }]);
  }
  const forbidden = PROTOTYPE_KEYS.filter((key) => Object.prototype.hasOwnProperty.call(value, key));
  if (forbidden.length > 0) throw validationFailed(forbidden.map((field) => ({ field, problems: [`property ${field} should not exist`] })));
}

class LedgerValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && metadata.metatype && this.toValidate(metadata)) {
      assertBodyObject(value);
      // A valid body is taken without the full pipe; anything else goes through it for its answer.
      const accepted = fastBodyValidator(metadata.metatype)?.(value);
      if (accepted) return accepted;
    }
    return super.transform(value, metadata);
  }
}

/** Validates every body and query with its DTO; unknown fields are refused, not silently dropped. */
export function createValidationPipe(): ValidationPipe {
  return new LedgerValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => validationFailed(flatten(errors)),
  });
}

function flatten(errors: ValidationError[], prefix = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = `${prefix}${error.property}`;
    const own = error.constraints ? [{ field, problems: Object.values(error.constraints) }] : [];
    return [...own, ...flatten(error.children ?? [], `${field}.`)];
  });
}
