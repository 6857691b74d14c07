import type { NextFunction, Request, Response } from 'express';

/**
 * Commands take JSON only. A form or text body would otherwise reach validation as an empty object
 * and come back as "every field missing", which hides the real mistake.
 */
export function jsonOnly(request: Request, response: Response, next: NextFunction): void {
  const hasBody = Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined;
  if (!hasBody || request.is('application/json') || !['POST', 'PUT', 'PATCH'].includes(request.method)) return next();
  const refuse = () =>
    response.status(415).json({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'send the body as application/json',
      details: { contentType: request.headers['content-type'] ?? null },
    });
  // Read off the body first, as body-parser does for its own refusals: a connection closed with
  // request bytes still unread is reset by the kernel, and the client may never see the answer.
  if (request.readableEnded) return void refuse();
  request.once('end', refuse);
  request.resume();
}
