import type { MiddlewareHandler } from 'hono';
import { constantTimeEqualStrings } from '../../lib/auth/crypto.ts';
import type { Config } from '../../lib/config.ts';
import type { AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';

/**
 * `Authorization: Bearer <secret>`, compared in constant time, for machine callers (system cron,
 * Prometheus). Without the secret configured the route is off (503), rather than open.
 */
export function requireBearerSecret(
  variable: string,
  secretOf: (config: Config) => string | undefined,
  disabled: string,
): MiddlewareHandler<AppEnv> {
  return async function requireBearerSecret(c, next) {
    const secret = secretOf(c.get('services').config);
    if (!secret) throw new ApiError(503, 'SERVICE_UNAVAILABLE', `${disabled}: set ${variable} to enable them`);
    const presented = /^Bearer\s+(.+)$/.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
    if (!constantTimeEqualStrings(presented, secret)) {
      throw new ApiError(401, 'UNAUTHORIZED', `a valid "Authorization: Bearer <${variable}>" is required`, undefined, {
        'WWW-Authenticate': 'Bearer',
      });
    }
    await next();
  };
}

/** The HTTP job triggers' guard: CRON_SECRET. */
export const requireCronSecret = () =>
  requireBearerSecret('CRON_SECRET', (config) => config.jobs.cronSecret, 'HTTP job triggers are disabled');
