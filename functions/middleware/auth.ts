import type { Context, MiddlewareHandler } from 'hono';
import { can, type Permission } from '../../lib/auth/permissions.ts';
import { InvalidTokenError, verifyAccessToken } from '../../lib/auth/tokens.ts';
import { findUserById } from '../../lib/users.ts';
import type { AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';

const BEARER = /^Bearer\s+([A-Za-z0-9\-_.]+)$/;

/**
 * Verifies the bearer access token once per request and caches the claims on the context.
 * null: no token; throws 401 for a malformed, expired or forged one.
 */
export async function accessClaims(c: Context<AppEnv>) {
  const cached = c.get('tokenClaims');
  if (cached !== undefined) return cached;
  const header = c.req.header('authorization');
  if (!header) {
    c.set('tokenClaims', null);
    return null;
  }
  const token = BEARER.exec(header)?.[1];
  if (!token) throw unauthorized('Authorization header must be "Bearer <access token>"');
  try {
    const claims = await verifyAccessToken(c.get('services').config.auth.tokens, token);
    c.set('tokenClaims', claims);
    return claims;
  } catch (error) {
    if (error instanceof InvalidTokenError) throw unauthorized(error.message);
    throw error;
  }
}

function unauthorized(message: string): ApiError {
  return new ApiError(401, 'UNAUTHORIZED', message, undefined, { 'WWW-Authenticate': 'Bearer' });
}

/**
 * 401 without a valid token or for a deactivated/deleted user; 403 when the user's current role
 * lacks the permission. Role and active state come from the database (through a cache of
 * AUTH_CACHE_TTL seconds that this process invalidates on every change it makes).
 */
export function requireAuth(permission?: Permission): MiddlewareHandler<AppEnv> {
  return async function requireAuth(c, next) {
    const claims = await accessClaims(c);
    if (!claims) throw unauthorized('authentication required');
    const { db, authUsers } = c.get('services');
    const user =
      authUsers.peek(claims.userId) ??
      (await authUsers.get(claims.userId, async (id) => {
        const row = await findUserById(db, id);
        return row
          ? { userId: row.id, role: row.role, email: row.email, name: row.name, isActive: row.is_active }
          : null;
      }));
    if (!user?.isActive) throw unauthorized('account is not active');
    if (permission && !can(user.role, permission)) {
      throw new ApiError(403, 'FORBIDDEN', `role ${user.role} may not ${permission}`);
    }
    c.set('auth', { userId: user.userId, role: user.role, email: user.email, name: user.name });
    await next();
  };
}
