import type { Type } from '@nestjs/common';
import { TransformationType } from 'class-transformer';
import type { MetadataStorage as TransformerMetadata } from 'class-transformer/types/MetadataStorage';
import { ValidationTypes, getMetadataStorage, type ValidationArguments, type ValidatorConstraintInterface } from 'class-validator';

/**
 * The accepting half of body validation, without class-validator's and class-transformer's
 * machinery (together ~40 µs of a request's CPU in the deep-stock profile).
 *
 * For a DTO whose rules are all plain constraints (IsString, Length, Matches, IsInt, Min, Max, IsIn,
 * IsArray, ArrayUnique..., optionally IsOptional), the rules are read once from class-validator's
 * metadata and each request calls the very same constraint functions with the same arguments as
 * class-validator would. When every one passes, the DTO instance is built as plainToInstance builds
 * a flat one. Anything else (a rule fails, an unknown field, a nested object, a DTO with other kinds
 * of rules or class-transformer metadata) returns null: the full ValidationPipe then runs and
 * produces the error answer exactly as before. So this path can only say yes where the pipe says yes.
 */
// class-transformer's own metadata (what @Type, @Transform, @Expose, @Exclude record); its package
// types the module but maps no path to it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as { defaultMetadataStorage: TransformerMetadata };

export type FastBodyValidator = (value: unknown) => object | null;

interface Rule {
  property: string;
  each: boolean;
  constraints: unknown[];
  check: ValidatorConstraintInterface;
}

interface PropertyRules {
  property: string;
  /** IsOptional and the like: all must hold for the property's rules to apply. */
  conditions: ((object: object, value: unknown) => boolean)[];
  rules: Rule[];
}

const compiled = new Map<Type<unknown>, FastBodyValidator | null>();

export function fastBodyValidator(metatype: Type<unknown>): FastBodyValidator | null {
  let validator = compiled.get(metatype);
  if (validator === undefined) {
    validator = compile(metatype);
    compiled.set(metatype, validator);
  }
  return validator;
}

function compile(metatype: Type<unknown>): FastBodyValidator | null {
  const storage = getMetadataStorage();
  // The same call class-validator's executor makes for an instance of the class (no groups).
  const metadatas = storage.getTargetValidationMetadatas(metatype, undefined as unknown as string, false, false, undefined);
  if (metadatas.length === 0) return null;
  const byProperty = new Map<string, PropertyRules>();
  for (const metadata of metadatas) {
    if (metadata.validateIf || (metadata.groups && metadata.groups.length > 0) || metadata.always !== undefined) return null;
    let entry = byProperty.get(metadata.propertyName);
    if (!entry) byProperty.set(metadata.propertyName, (entry = { property: metadata.propertyName, conditions: [], rules: [] }));
    if (metadata.type === ValidationTypes.CONDITIONAL_VALIDATION) {
      entry.conditions.push(metadata.constraints[0] as (object: object, value: unknown) => boolean);
    } else if (metadata.type === ValidationTypes.CUSTOM_VALIDATION) {
      for (const constraint of storage.getTargetValidatorConstraints(metadata.constraintCls)) {
        if (constraint.async) return null;
        entry.rules.push({ property: metadata.propertyName, each: metadata.each === true, constraints: metadata.constraints, check: constraint.instance });
      }
    } else return null;
  }
  const properties = [...byProperty.values()];
  if (hasTransformerMetadata(metatype, properties)) return null;
  const known = new Set(byProperty.keys());
  const targetName = metatype.name;

  return (value) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
    const plain = value as Record<string, unknown>;
    const entity = new metatype() as Record<string, unknown>;
    for (const key of Object.keys(plain)) {
      if (!known.has(key)) return null;
      const field = plain[key];
      if (Array.isArray(field)) {
        // plainToInstance copies an array; of objects it would build new ones: left to the full path.
        for (const item of field) if (item !== null && typeof item === 'object') return null;
        entity[key] = [...field];
      } else if (field !== null && typeof field === 'object') return null;
      else entity[key] = field;
    }
    for (const { property, conditions, rules } of properties) {
      const field = entity[property];
      let applies = true;
      for (const condition of conditions) applies = condition(entity, field) && applies;
      if (!applies) continue;
      for (const rule of rules) {
        const args: ValidationArguments = { targetName, property, object: entity, value: field, constraints: rule.constraints };
        if (rule.each && Array.isArray(field)) {
          for (const item of field) if (rule.check.validate(item, args) !== true) return null;
        } else if (rule.check.validate(field, args) !== true) return null;
      }
    }
    return entity;
  };
}

function hasTransformerMetadata(metatype: Type<unknown>, properties: PropertyRules[]): boolean {
  if (defaultMetadataStorage.getExposedMetadatas(metatype).length > 0 || defaultMetadataStorage.getExcludedMetadatas(metatype).length > 0) return true;
  return properties.some(
    ({ property }) =>
      defaultMetadataStorage.findTypeMetadata(metatype, property) !== undefined ||
      defaultMetadataStorage.findTransformMetadatas(metatype, property, TransformationType.PLAIN_TO_CLASS).length > 0,
  );
}
