import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';
import { accessClaims } from './auth.ts';

/**
 * THROTTLE_LIMIT requests per THROTTLE_TTL seconds per user (with a valid token) or client IP.
 * Counted in memory and synced to Postgres in the background (lib/rate-limit.ts), so it costs no
 * database round trip per request. RateLimit headers on every counted response. A failed sync is
 * logged and retried; it never fails a request.
 */
export function rateLimit(options: { exempt: (path: string) => boolean }): MiddlewareHandler<AppEnv> {
  return async function rateLimit(c, next) {
    const { rateLimiter: limiter, db, logger, defer } = c.get('services');
    if (!limiter || options.exempt(c.req.path)) return next();
    let claims: Awaited<ReturnType<typeof accessClaims>> = null;
    try {
      claims = await accessClaims(c);
    } catch {
      // An invalid token is answered 401 by the route; count it against the address.
    }
    const state = limiter.hit(claims ? `user:${claims.userId}` : `ip:${c.get('clientIp')}`);
    if (limiter.syncDue()) {
      defer(
        limiter
          .sync(db)
          .catch((error: Error) => logger.warn('rate limit sync failed; will retry', { error: error.message })),
      );
    }
    const headers = {
      'RateLimit-Policy': `${limiter.limit};w=${limiter.windowSeconds}`,
      RateLimit: `limit=${limiter.limit}, remaining=${state.remaining}, reset=${state.resetSeconds}`,
      'RateLimit-Limit': String(limiter.limit),
      'RateLimit-Remaining': String(state.remaining),
      'RateLimit-Reset': String(state.resetSeconds),
    };
    if (state.exceeded) {
      throw new ApiError(
        429,
        'RATE_LIMITED',
        `rate limit of ${limiter.limit} requests per ${limiter.windowSeconds} s exceeded`,
        undefined,
        { ...headers, 'Retry-After': String(state.resetSeconds) },
      );
    }
    // Set on the context before the handler: merged into the response as it is built, much
    // cheaper on Node than editing a finished Response's headers.
    for (const name in headers) c.header(name, headers[name as keyof typeof headers]);
    await next();
  };
}
