import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv, ExecutionLike, ServicesProvider } from '../context.ts';

/** Hono throws (building a stack trace) when there is no ExecutionContext, so only Workers ask. */
function executionCtxOf(c: Context): ExecutionLike | undefined {
  try {
    return c.executionCtx;
  } catch {
    return undefined;
  }
}

/** Puts the request's services on the context; a provider with release() gets them back after the response. */
export function servicesMiddleware(provider: ServicesProvider): MiddlewareHandler<AppEnv> {
  return async function services(c, next) {
    const acquired = await provider.acquire({ env: c.env, executionCtx: () => executionCtxOf(c) });
    c.set('services', acquired);
    try {
      await next();
    } finally {
      provider.release?.(acquired);
    }
  };
}
