import type { OpenAPIHono } from '@hono/zod-openapi';
import { Hono } from 'hono';
import { APP_VERSION } from '../lib/runtime.ts';
import type { AppEnv } from './context.ts';
import { ApiError } from './errors.ts';

/** The Swagger UI files served from the bundle, so /api/docs works offline and under a strict CSP. */
export const DOCS_ASSETS = ['swagger-ui.css', 'swagger-ui-bundle.js'] as const;

const INIT_SCRIPT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: true });
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Opsbase API</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
`;

// Swagger UI sets inline styles; scripts come only from this origin.
const DOCS_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

/**
 * GET /api/openapi.json (generated from every route's zod declaration) and Swagger UI at
 * /api/docs. Takes the composed app because the document describes all of it.
 */
export function docs(app: OpenAPIHono<AppEnv>) {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An access token from POST /api/auth/login',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'cronSecret', {
    type: 'http',
    scheme: 'bearer',
    description: 'CRON_SECRET, for system cron and uptime tools calling /api/cron/*',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'telegramSecret', {
    type: 'apiKey',
    in: 'header',
    name: 'X-Telegram-Bot-Api-Secret-Token',
    description: 'TELEGRAM_WEBHOOK_SECRET, which Telegram sends with every update (set-webhook registers it)',
  });
  let document: unknown;
  return new Hono<AppEnv>()
    .get('/api/openapi.json', (c) => {
      document ??= app.getOpenAPI31Document({
        openapi: '3.1.0',
        info: {
          title: 'Opsbase API',
          version: APP_VERSION,
          description:
            'Errors always use the envelope {"error":{"code","message","requestId","details"?}}. Lists use keyset pagination (limit, cursor).',
        },
      });
      return c.json(document);
    })
    .get('/api/docs', (c) => {
      c.header('Content-Security-Policy', DOCS_CSP);
      return c.html(PAGE);
    })
    .get('/api/docs/init.js', (c) => {
      c.header('Content-Type', 'text/javascript; charset=utf-8');
      c.header('Cache-Control', 'public, max-age=3600');
      return c.body(INIT_SCRIPT);
    })
    .get('/api/docs/assets/:file', async (c) => {
      const file = c.req.param('file');
      const reader = c.get('services').assets;
      const response = (DOCS_ASSETS as readonly string[]).includes(file) && reader ? await reader(file) : null;
      if (!response) throw new ApiError(404, 'NOT_FOUND', `no docs asset ${file}`);
      return response;
    });
}
