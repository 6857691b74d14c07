import { SetMetadata } from '@nestjs/common';
import type { Role } from '@ledger/platform';

export const ROLES_KEY = 'ledger:roles';
export const PUBLIC_KEY = 'ledger:public';

/** The roles that may call a route. Every route must say, or the guard refuses it. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);
export const READ_ROLES: Role[] = ['ops', 'service', 'auditor'];
export const STOCK_COMMAND_ROLES: Role[] = ['ops', 'service'];

/** Probes and metrics scrapes carry no token. */
export const Public = () => SetMetadata(PUBLIC_KEY, true);
