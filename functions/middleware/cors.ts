import type { MiddlewareHandler } from 'hono';
import { cors as honoCors } from 'hono/cors';
import type { AppEnv } from '../context.ts';

/** CORS for the origins in CORS_ORIGIN (never a wildcard, so credentials are safe); none when unset. */
export function cors(): MiddlewareHandler<AppEnv> {
  let handler: MiddlewareHandler | undefined;
  let builtFor: string[] | undefined;
  return function corsForConfiguredOrigins(c, next) {
    const origins = c.get('services').config.corsOrigins;
    if (origins.length === 0) return next();
    if (builtFor !== origins) {
      handler = honoCors({
        origin: origins,
        credentials: true,
        allowHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
        allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
        exposeHeaders: [
          'X-Request-Id',
          'RateLimit',
          'RateLimit-Policy',
          'RateLimit-Limit',
          'RateLimit-Remaining',
          'RateLimit-Reset',
          'Retry-After',
        ],
        maxAge: 600,
      });
      builtFor = origins;
    }
    return (handler as MiddlewareHandler<AppEnv>)(c, next);
  };
}
