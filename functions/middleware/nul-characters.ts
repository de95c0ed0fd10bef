import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;
/** A \u0000 escape that is not itself an escaped backslash followed by "u0000". */
const NUL_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\u0000/;

/**
 * PostgreSQL cannot store U+0000 in text or jsonb: a NUL that reached a query would fail it as a
 * 500, possibly after earlier statements of the same request had run. So a URL with %00 or a
 * JSON body with \u0000 anywhere is refused with 400 before any handler runs. The body text is
 * cached by the request, so the route's validator does not read it twice.
 */
export function refuseNulCharacters(): MiddlewareHandler<AppEnv> {
  return async function refuseNulCharacters(c, next) {
    if (/%00/i.test(c.req.url)) {
      throw new ApiError(400, 'BAD_REQUEST', 'the URL contains a NUL character (%00), which cannot be stored');
    }
    const type = c.req.header('content-type')?.split(';')[0]?.trim() ?? '';
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && JSON_TYPE.test(type)) {
      const text = await c.req.text();
      if (text.includes('\u0000') || NUL_ESCAPE.test(text)) {
        throw new ApiError(400, 'BAD_REQUEST', 'the body contains a NUL character (\\u0000), which cannot be stored');
      }
    }
    await next();
  };
}
