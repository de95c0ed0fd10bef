import type { MiddlewareHandler } from 'hono';
import { hitRateLimit } from '../../lib/rate-limit.ts';
import type { AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';
import { accessClaims } from './auth.ts';

/**
 * THROTTLE_LIMIT requests per THROTTLE_TTL seconds per user (with a valid token) or client IP,
 * counted in Postgres. RateLimit headers on every counted response. If the counter cannot be
 * written (database down) the request is let through: the limiter must not be an outage itself.
 */
export function rateLimit(options: { exempt: (path: string) => boolean }): MiddlewareHandler<AppEnv> {
  return async function rateLimit(c, next) {
    const { config, db, logger } = c.var.services;
    const { limit, windowSeconds } = config.rateLimit;
    if (limit === 0 || options.exempt(c.req.path)) return next();
    let claims: Awaited<ReturnType<typeof accessClaims>> = null;
    try {
      claims = await accessClaims(c);
    } catch {
      // An invalid token is answered 401 by the route; count it against the address.
    }
    const key = claims ? `user:${claims.userId}` : `ip:${c.var.clientIp}`;
    let state: Awaited<ReturnType<typeof hitRateLimit>> | undefined;
    try {
      state = await hitRateLimit(db, key, windowSeconds, limit);
    } catch (error) {
      logger.warn('rate limit counter unavailable; request allowed', { error: (error as Error).message });
    }
    if (state) {
      const headers = {
        'RateLimit-Policy': `${limit};w=${windowSeconds}`,
        RateLimit: `limit=${limit}, remaining=${state.remaining}, reset=${state.resetSeconds}`,
        'RateLimit-Limit': String(limit),
        'RateLimit-Remaining': String(state.remaining),
        'RateLimit-Reset': String(state.resetSeconds),
      };
      if (state.exceeded) {
        throw new ApiError(
          429,
          'RATE_LIMITED',
          `rate limit of ${limit} requests per ${windowSeconds} s exceeded`,
          undefined,
          {
            ...headers,
            'Retry-After': String(state.resetSeconds),
          },
        );
      }
      await next();
      for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
      return;
    }
    await next();
  };
}
