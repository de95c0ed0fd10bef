import type { MiddlewareHandler } from 'hono';
import { constantTimeEqualStrings } from '../../lib/auth/crypto.ts';
import type { AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';

/**
 * `Authorization: Bearer <CRON_SECRET>`, compared in constant time. Without CRON_SECRET the HTTP
 * triggers are off (503), rather than open.
 */
export function requireCronSecret(): MiddlewareHandler<AppEnv> {
  return async function requireCronSecret(c, next) {
    const secret = c.var.services.config.jobs.cronSecret;
    if (!secret) {
      throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'HTTP job triggers are disabled: set CRON_SECRET to enable them');
    }
    const presented = /^Bearer\s+(.+)$/.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
    if (!constantTimeEqualStrings(presented, secret)) {
      throw new ApiError(401, 'UNAUTHORIZED', 'a valid "Authorization: Bearer <CRON_SECRET>" is required', undefined, {
        'WWW-Authenticate': 'Bearer',
      });
    }
    await next();
  };
}
