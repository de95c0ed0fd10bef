import { z } from '@hono/zod-openapi';
import { backupHealth } from '../lib/backup/health.ts';
import { checkHealth } from '../lib/health.ts';
import { BackupHealthSchema } from '../schema/api/backups.ts';
import { createFunction } from './base.ts';
import type { Services } from './context.ts';
import { route } from './route.ts';

const DependencySchema = z
  .object({
    status: z.enum(['up', 'down', 'unconfigured']),
    latencyMs: z.number().optional(),
    message: z.string().optional(),
  })
  .openapi('DependencyStatus');

const HealthSchema = z
  .object({
    status: z.enum(['ok', 'error']),
    info: z.record(z.string(), DependencySchema),
    error: z.record(z.string(), DependencySchema),
    details: z.record(z.string(), DependencySchema),
    uptimeSeconds: z.number(),
    version: z.string(),
    commit: z.string().nullable(),
    runtime: z.enum(['node', 'workerd']),
    requestLogs: z.object({ backlog: z.number(), dropped: z.number() }),
    backup: BackupHealthSchema,
  })
  .openapi('Health');

const healthRoute = route('public', {
  method: 'get',
  path: '/api/health',
  tags: ['system'],
  summary: 'Liveness and dependency health',
  description:
    'Checks the database and object storage in parallel; answers within HEALTH_TIMEOUT_MS even when one hangs. `backup` tells the age of the newest complete backup.',
  responses: {
    200: { description: 'Every dependency is up', content: { 'application/json': { schema: HealthSchema } } },
    503: {
      description: 'A dependency is down; `error` names it',
      content: { 'application/json': { schema: HealthSchema } },
    },
  },
});

/** The health check for this request's services (the public route and the admin view share it). */
export function checkServicesHealth(s: Services) {
  return checkHealth({
    db: s.db,
    storage: s.storage,
    timeoutMs: s.config.healthTimeoutMs,
    startedAt: s.startedAt,
    runtime: s.runtime,
    commit: s.config.deployCommit,
  });
}

export const health = createFunction().openapi(healthRoute, async (c) => {
  const s = c.get('services');
  const [report, backup] = await Promise.all([checkServicesHealth(s), backupHealth(s.db, s.config.healthTimeoutMs)]);
  c.header('Cache-Control', 'no-store');
  // Rows the request-log writer had to drop while the database was away are reported here too.
  const { backlog, dropped } = s.requestLogs.stats();
  return c.json({ ...report, requestLogs: { backlog, dropped }, backup }, report.status === 'ok' ? 200 : 503);
});
