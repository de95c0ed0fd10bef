import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv } from '../context.ts';

/**
 * Counts every request in the process's HTTP metrics, and records every /api request (but
 * REQUEST_LOG_EXCLUDE) in the request-log buffer after the response is ready: the route
 * template, status, duration, user, client IP, request id and the error code and message.
 * Writing happens elsewhere; this only appends to memory.
 */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async function requestLog(c, next) {
    const started = performance.now();
    await next();
    const path = c.req.path;
    // c.get, not c.var: Hono builds c.var as a new object from every variable on each access.
    const { config, requestLogs, runtime, db, defer, logger, httpMetrics } = c.get('services');
    const durationMs = performance.now() - started;
    const matched = routePath(c, -1);
    // A wildcard is a middleware's pattern: no route matched the request.
    const route = matched.endsWith('*') ? null : matched;
    // Every request counts in GET /metrics but the scrape itself.
    if (path !== '/metrics') httpMetrics.observe(c.req.method, route, c.res.status, durationMs);
    if (!path.startsWith('/api/') || config.requestLogs.exclude.some((prefix) => path.startsWith(prefix))) return;
    const error = c.get('loggedError');
    requestLogs.add({
      createdAt: new Date(),
      method: c.req.method,
      path: path.slice(0, 2000),
      route,
      status: c.res.status,
      durationMs: Math.round(durationMs * 100) / 100,
      userId: c.get('auth')?.userId ?? null,
      ip: c.get('clientIp') ?? null,
      requestId: c.get('requestId') ?? null,
      errorCode: c.res.status >= 400 ? (error?.code ?? null) : null,
      errorMessage: c.res.status >= 400 ? (error?.message ?? null) : null,
    });
    // Node flushes on a timer and when a batch is full (functions/node.ts), outside any request;
    // Workers have no timers between requests, so each request writes what is buffered in waitUntil.
    // drain, not flush: a flush already under way (another request's) took its batch before this
    // row was added, and nothing else would write this row until the next /api request.
    if (runtime === 'workerd') {
      defer(
        requestLogs
          .drain(db)
          .catch((e: Error) => logger.warn('request log flush failed; rows kept', { error: e.message })),
      );
    }
  };
}
