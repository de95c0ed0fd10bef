import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { redactSecrets } from '../lib/observability/redact.ts';
import type { AppEnv, ServicesProvider } from './context.ts';
import { ApiError, errorResponse, toApiError } from './errors.ts';
import { accessLog } from './middleware/access-log.ts';
import { bodyLimit } from './middleware/body-limit.ts';
import { clientIp } from './middleware/client-ip.ts';
import { cors } from './middleware/cors.ts';
import { refuseNulCharacters } from './middleware/nul-characters.ts';
import { rateLimit } from './middleware/rate-limit.ts';
import { requestLog } from './middleware/request-log.ts';
import { servicesMiddleware } from './middleware/services.ts';

/**
 * A function's own app: routes declared with zod; a request that fails validation gets the
 * envelope with the zod issues in details.
 */
export function createFunction(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new ApiError(400, 'VALIDATION_FAILED', 'Request validation failed', result.error.issues);
      }
    },
  });
}

/**
 * The middleware stack every served app shares: request id, secure headers, services, client
 * IP, access log, CORS, body limit, the API rate limit, refusal of NUL characters, and one error
 * envelope for errors, unknown routes and wrong methods.
 */
export function createBase(provider: ServicesProvider): OpenAPIHono<AppEnv> {
  const app = createFunction();
  app.use(requestId({ headerName: 'X-Request-Id' }));
  // A JSON API needs no sources at all; the docs page sets its own, looser policy (overwrite:
  // false lets a route's own header stand).
  app.use(
    secureHeaders({
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"] },
      overwrite: false,
    }),
  );
  app.use(servicesMiddleware(provider));
  app.use(clientIp());
  app.use(accessLog());
  app.use(requestLog());
  app.use(cors());
  app.use(bodyLimit());
  app.use('/api/*', rateLimit({ exempt: isRateLimitExempt }));
  app.use('/api/*', refuseNulCharacters());

  app.onError((error, c) => {
    const apiError = bodyCutOff(c)
      ? new ApiError(400, 'BAD_REQUEST', 'the connection closed before the request body was complete')
      : toApiError(error);
    // The request log keeps the code and message; for an unexpected 5xx the exception's own
    // message (with anything secret-looking masked), never the stack.
    c.set('loggedError', {
      code: apiError.code,
      message:
        !(error instanceof ApiError) && apiError.status >= 500 && error instanceof Error
          ? redactSecrets(error.message)
          : apiError.message,
    });
    const fields = { requestId: c.get('requestId'), method: c.req.method, path: c.req.path };
    if (!(error instanceof ApiError) && apiError.status === 503) {
      // A dependency is away (mapped by toApiError): expected during an outage, one line each,
      // no stack (health and the request log say the rest).
      c.get('services')?.logger.warn('request failed: dependency unavailable', {
        ...fields,
        error: redactSecrets(error instanceof Error ? error.message : String(error)),
      });
    } else if (!(error instanceof ApiError) && apiError.status >= 500) {
      // Unexpected: the stack goes to the log (never to the client).
      c.get('services')?.logger.error('request failed', { ...fields, error });
    } else if (apiError.status >= 500) {
      c.get('services')?.logger.warn('request answered with a server error', {
        ...fields,
        code: apiError.code,
        message: apiError.message,
      });
    }
    return errorResponse(c, apiError);
  });

  const allowedMethods = methodIndex(app);
  app.notFound((c) => {
    const allowed = allowedMethods(c.req.path);
    if (allowed.length > 0 && !allowed.includes(c.req.method)) {
      return errorResponse(
        c,
        new ApiError(405, 'METHOD_NOT_ALLOWED', `${c.req.method} is not allowed on ${c.req.path}`, undefined, {
          Allow: allowed.join(', '),
        }),
      );
    }
    return errorResponse(c, new ApiError(404, 'NOT_FOUND', `No route for ${c.req.method} ${c.req.path}`));
  });
  return app;
}

/**
 * The client went away in the middle of its body (Node): reading it failed with ECONNRESET
 * "aborted", which is neither the database's fault nor the server's.
 */
function bodyCutOff(c: Context<AppEnv>): boolean {
  const incoming = c.env?.incoming as { readableAborted?: boolean; aborted?: boolean } | undefined;
  return incoming?.readableAborted === true || incoming?.aborted === true;
}

/** Health checks and the docs are polled by monitors and browsers; they never count against a client. */
function isRateLimitExempt(path: string): boolean {
  return path === '/api/health' || path === '/api/openapi.json' || path.startsWith('/api/docs');
}

/** Serves one function by itself behind the shared stack (each function file can run alone). */
export function serveFunction(fn: Hono<AppEnv>, provider: ServicesProvider): OpenAPIHono<AppEnv> {
  const app = createBase(provider);
  app.route('/', fn);
  return app;
}

/** For 405s: which methods some route accepts on a path. Built lazily from the router's routes. */
function methodIndex(app: Hono<AppEnv>): (path: string) => string[] {
  let compiledFor = -1;
  let compiled: { pattern: RegExp; method: string }[] = [];
  return (path) => {
    if (compiledFor !== app.routes.length) {
      compiled = app.routes
        .filter((r) => r.method !== 'ALL')
        .map((r) => ({ pattern: routePattern(r.path), method: r.method }));
      compiledFor = app.routes.length;
    }
    const methods = new Set(compiled.filter((r) => r.pattern.test(path)).map((r) => r.method));
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods];
  };
}

function routePattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      const param = /^:\w+(?:\{(.+)\})?(\?)?$/.exec(segment);
      if (param) return param[1] ? `(?:${param[1]})` : '[^/]+';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}/?$`);
}

export type { Context };
