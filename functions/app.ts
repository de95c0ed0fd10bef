import type { OpenAPIHono } from '@hono/zod-openapi';
import { createBase } from './base.ts';
import type { AppEnv, ServicesProvider } from './context.ts';
import { health } from './health.ts';

/** The bundle: every function behind the shared middleware stack. Same app on Node and Workers. */
export function createApp(provider: ServicesProvider): OpenAPIHono<AppEnv> {
  const app = createBase(provider);
  app.route('/', health);
  return app;
}
