import type { NextFunction, Request, Response } from 'express';

/** Far deeper than any command needs (a channel's locations: 2), far shallower than a stack overflow. */
export const MAX_JSON_DEPTH = 32;

/**
 * Refuses a body nested deeper than MAX_JSON_DEPTH with 400 before anything walks it. Nest's
 * validation pipe (stripProtoKeys) and class-transformer recurse once per level: a 60 KB body of
 * 10,000 nested objects overflowed the stack there and was answered 500.
 */
export function jsonDepthLimit(request: Request, response: Response, next: NextFunction): void {
  if (!nestedDeeperThan(request.body, MAX_JSON_DEPTH)) return next();
  const problem = `the body is nested deeper than ${MAX_JSON_DEPTH} levels`;
  response.status(400).json({ code: 'VALIDATION_FAILED', message: problem, details: { fields: [{ field: 'body', problems: [problem] }] } });
}

/** Iterative, so the check itself cannot overflow the stack. The top-level object or array is level 1. */
export function nestedDeeperThan(value: unknown, maxDepth: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop() as [unknown, number];
    if (item === null || typeof item !== 'object') continue;
    if (depth > maxDepth) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}
