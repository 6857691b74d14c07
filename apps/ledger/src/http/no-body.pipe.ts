import { Injectable, type PipeTransform } from '@nestjs/common';
import { validationFailed } from '../errors/api-error';
import { assertBodyObject } from '../commands/validation-pipe';

/**
 * For commands that take no fields (commit): an empty object or no body at all. A field sent anyway
 * is refused by name rather than ignored, as every other endpoint does with unknown fields.
 */
@Injectable()
export class NoBodyPipe implements PipeTransform<unknown, Record<string, never>> {
  transform(value: unknown): Record<string, never> {
    assertBodyObject(value);
    const fields = Object.keys((value ?? {}) as object);
    if (fields.length > 0) throw validationFailed(fields.map((field) => ({ field, problems: [`property ${field} should not exist`] })));
    return {};
  }
}
