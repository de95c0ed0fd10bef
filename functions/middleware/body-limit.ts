import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';

/** BODY_LIMIT from config (default 10 MB); 413 with the envelope past it. */
export function bodyLimit(): MiddlewareHandler<AppEnv> {
  const byLimit = new Map<number, MiddlewareHandler<AppEnv>>();
  return function limitBody(c, next) {
    // GET and HEAD handlers never read a body; skipping them saves building a full Request on
    // Node for every read. Every other method is limited, with or without a length header.
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const maxSize = c.get('services').config.bodyLimit;
    let handler = byLimit.get(maxSize);
    if (!handler) {
      handler = honoBodyLimit({
        maxSize,
        onError: (ctx) => {
          // The rest of the body is never read: on Node the connection must not be reused, or
          // the client's next request on it meets a socket the server is about to close.
          const headers = ctx.var.services.runtime === 'node' ? { Connection: 'close' } : undefined;
          throw new ApiError(
            413,
            'PAYLOAD_TOO_LARGE',
            `Request body is larger than the limit of ${maxSize} bytes`,
            undefined,
            headers,
          );
        },
      });
      byLimit.set(maxSize, handler);
    }
    return handler(c, next);
  };
}
