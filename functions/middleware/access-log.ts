import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.ts';

/** One structured line per request at debug level; server errors at error level. */
export function accessLog(): MiddlewareHandler<AppEnv> {
  return async function accessLog(c, next) {
    const started = performance.now();
    await next();
    const logger = c.var.services?.logger;
    if (!logger) return;
    const status = c.res.status;
    const level = status >= 500 ? 'error' : 'debug';
    if (!logger.isEnabled(level)) return;
    logger[level]('request', {
      requestId: c.var.requestId,
      method: c.req.method,
      path: c.req.path,
      status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
    });
  };
}
