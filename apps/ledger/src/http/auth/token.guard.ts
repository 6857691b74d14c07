import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { LEDGER_CONFIG, type ApiToken, type LedgerConfig, type Role } from '@ledger/platform';
import { PUBLIC_KEY, ROLES_KEY } from './roles.decorator';

export interface Principal {
  name: string;
  role: Role;
}

export type AuthenticatedRequest = FastifyRequest & { principal?: Principal };

/** Fastify's reply (and a test's fake context) sets a header with `header(name, value)`. */
interface HeaderSetter {
  header(name: string, value: string): unknown;
}

/** RFC 6750: a 401 names the scheme the client should use. */
const CHALLENGE = 'Bearer realm="inventory-ledger"';

/**
 * Bearer tokens with roles. Tokens are compared as sha-256 digests with timingSafeEqual, so the time
 * taken says nothing about how much of a guess was right; no token ever reaches a log.
 */
@Injectable()
export class TokenGuard implements CanActivate {
  private readonly digests: { digest: Buffer; token: ApiToken }[];
  /** Route metadata does not change after start: read once per handler, not on every request. */
  private readonly routes = new WeakMap<object, { isPublic: boolean; allowed: Role[] }>();

  constructor(
    private readonly reflector: Reflector,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {
    this.digests = config.apiTokens.map((token) => ({ digest: digest(token.token), token }));
    if (this.digests.length === 0) {
      new Logger('Auth').warn('LEDGER_API_TOKENS is empty: no authentication, listening on 127.0.0.1 only');
    }
  }

  canActivate(context: ExecutionContext): boolean {
    const { isPublic, allowed } = this.route(context);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const principal = this.authenticate(request, context.switchToHttp().getResponse<HeaderSetter>());
    if (!allowed.includes(principal.role)) {
      throw new ForbiddenException({ code: 'FORBIDDEN', message: `the ${principal.role} role may not call this route` });
    }
    request.principal = principal;
    return true;
  }

  private route(context: ExecutionContext): { isPublic: boolean; allowed: Role[] } {
    const handler = context.getHandler();
    let route = this.routes.get(handler);
    if (!route) {
      const targets = [handler, context.getClass()];
      route = {
        isPublic: this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets) === true,
        allowed: this.reflector.getAllAndOverride<Role[]>(ROLES_KEY, targets) ?? [],
      };
      this.routes.set(handler, route);
    }
    return route;
  }

  private authenticate(request: FastifyRequest, response: HeaderSetter): Principal {
    if (this.digests.length === 0) return { name: 'local', role: 'ops' };
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      response.header('WWW-Authenticate', CHALLENGE);
      throw new UnauthorizedException({ code: 'UNAUTHORIZED', message: 'a bearer token is required' });
    }
    const presented = digest(match[1]);
    // Compare against every token so the time does not depend on which one matched.
    let found: ApiToken | null = null;
    for (const { digest: known, token } of this.digests) {
      if (timingSafeEqual(known, presented) && !found) found = token;
    }
    if (!found) {
      response.header('WWW-Authenticate', `${CHALLENGE}, error="invalid_token"`);
      throw new UnauthorizedException({ code: 'UNAUTHORIZED', message: 'the bearer token is not valid' });
    }
    return { name: found.name, role: found.role };
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
