import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.ts';

/** One structured line per request at debug level; server errors at error level (503 at warn). */
export function accessLog(): MiddlewareHandler<AppEnv> {
  return async function accessLog(c, next) {
    const started = performance.now();
    await next();
    const logger = c.get('services')?.logger;
    if (!logger) return;
    const status = c.res.status;
    // 503: a dependency is away (or a feature is not configured), which health reports: warn.
    const level = status === 503 ? 'warn' : status >= 500 ? 'error' : 'debug';
    if (!logger.isEnabled(level)) return;
    logger[level]('request', {
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
    });
  };
}
