import type { MiddlewareHandler } from 'hono';
import type { AppEnv, ExecutionLike, ServicesProvider } from '../context.ts';

/** Puts the request's services on the context; a provider with release() gets them back after the response. */
export function servicesMiddleware(provider: ServicesProvider): MiddlewareHandler<AppEnv> {
  return async function services(c, next) {
    let executionCtx: ExecutionLike | undefined;
    try {
      executionCtx = c.executionCtx;
    } catch {
      executionCtx = undefined; // Node: Hono throws when there is no ExecutionContext
    }
    const acquired = await provider.acquire({ env: c.env, executionCtx });
    c.set('services', acquired);
    try {
      await next();
    } finally {
      provider.release?.(acquired);
    }
  };
}
