import type { OpenAPIHono } from '@hono/zod-openapi';
import { adminBackups } from './admin-backups.ts';
import { adminJobs } from './admin-jobs.ts';
import { adminSystem } from './admin-system.ts';
import { attendance } from './attendance.ts';
import { auth } from './auth.ts';
import { createBase } from './base.ts';
import type { AppEnv, ServicesProvider } from './context.ts';
import { cron } from './cron.ts';
import { dashboard } from './dashboard/app.tsx';
import { docs } from './docs.ts';
import { fleet } from './fleet.ts';
import { health } from './health.ts';
import { leads } from './leads.ts';
import { metrics } from './metrics.ts';
import { ratings } from './ratings.ts';
import { tasks } from './tasks.ts';
import { telegram } from './telegram.ts';
import { uploads } from './uploads.ts';
import { users } from './users.ts';

/** The bundle: every function behind the shared middleware stack. Same app on Node and Workers. */
export function createApp(provider: ServicesProvider): OpenAPIHono<AppEnv> {
  const app = createBase(provider);
  app.route('/', health);
  app.route('/', auth);
  app.route('/', users);
  app.route('/', cron);
  app.route('/', adminJobs);
  app.route('/', adminSystem);
  app.route('/', adminBackups);
  app.route('/', leads);
  app.route('/', attendance);
  app.route('/', metrics);
  app.route('/', fleet);
  app.route('/', tasks);
  app.route('/', ratings);
  app.route('/', uploads);
  app.route('/', telegram);
  app.route('/', docs(app));
  app.route('/', dashboard);
  return app;
}
