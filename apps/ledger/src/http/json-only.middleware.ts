import type { NextFunction, Request, Response } from 'express';

/**
 * Commands take JSON only. A form or text body would otherwise reach validation as an empty object
 * and come back as "every field missing", which hides the real mistake.
 */
export function jsonOnly(request: Request, response: Response, next: NextFunction): void {
  const hasBody = Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined;
  if (!hasBody || request.is('application/json') || !['POST', 'PUT', 'PATCH'].includes(request.method)) return next();
  response.status(415).json({
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'send the body as application/json',
    details: { contentType: request.headers['content-type'] ?? null },
  });
}
