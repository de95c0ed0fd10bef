import { backupHealth } from '../lib/backup/health.ts';
import {
  activeUsers,
  databaseStats,
  errorsByRoute,
  listRequestLogs,
  requestStats,
} from '../lib/observability/queries.ts';
import { APP_VERSION } from '../lib/runtime.ts';
import {
  AdminViewSchema,
  ErrorsQuerySchema,
  LogQuerySchema,
  RequestLogPageSchema,
  StatsQuerySchema,
} from '../schema/api/observability.ts';
import { createFunction } from './base.ts';
import { checkServicesHealth } from './health.ts';
import { errorResponses, json, route } from './route.ts';

const tags = ['admin: system'];
const HOUR = 3_600_000;
const WINDOWS = { '1h': [HOUR, 1], '6h': [6 * HOUR, 5], '24h': [24 * HOUR, 15], '7d': [7 * 24 * HOUR, 120] } as const;

const view = (path: string, summary: string) =>
  route('admin:access', {
    method: 'get',
    path: `/api/admin/system/${path}`,
    tags,
    summary,
    responses: { 200: json(AdminViewSchema, summary), ...errorResponses(400, 401, 403) },
  });

const healthRoute = view('health', 'App, database, storage, uptime, scheduler state, log writer backlog and drops');
const metricsRoute = view('metrics', 'CPU, RAM, disk, process memory, event-loop lag (Node); unavailable on Workers');
const dbRoute = view('db', 'Database size, 10 largest tables, connections by state, pool usage');
const deployRoute = view('deploy', 'Deployed commit and time, version, runtime, start time');
const activeUsersRoute = view('active-users', 'Users with a request in the last 15 minutes');
const errorsRoute = route('admin:access', {
  method: 'get',
  path: '/api/admin/system/errors',
  tags,
  summary: 'Errors grouped by route (5xx; 4xx with include4xx=true); default the last 24 h',
  request: { query: ErrorsQuerySchema },
  responses: { 200: json(AdminViewSchema, 'Error groups'), ...errorResponses(400, 401, 403) },
});
const statsRoute = route('admin:access', {
  method: 'get',
  path: '/api/admin/system/stats',
  tags,
  summary: 'Requests, errors, p50 and p95 per time bucket, from the per-minute rollup',
  request: { query: StatsQuerySchema },
  responses: { 200: json(AdminViewSchema, 'Buckets'), ...errorResponses(400, 401, 403) },
});
const logsRoute = route('admin:access', {
  method: 'get',
  path: '/api/admin/system/logs',
  tags,
  summary: 'Request logs, newest first (keyset)',
  request: { query: LogQuerySchema },
  responses: { 200: json(RequestLogPageSchema, 'A page of request logs'), ...errorResponses(400, 401, 403) },
});

export const adminSystem = createFunction()
  .openapi(healthRoute, async (c) => {
    const s = c.get('services');
    const [report, backup] = await Promise.all([checkServicesHealth(s), backupHealth(s.db, s.config.healthTimeoutMs)]);
    return c.json(
      {
        ...report,
        backup,
        scheduler: s.scheduler
          ? { enabled: true, by: s.scheduler.by, nextRuns: s.scheduler.nextRuns() }
          : { enabled: false },
        requestLogWriter: s.requestLogs.stats(),
      },
      200,
    );
  })
  .openapi(metricsRoute, async (c) => {
    const s = c.get('services');
    if (!s.hostMetrics) {
      const reason = 'Workers run on Cloudflare machines: host metrics are not exposed to a Worker';
      return c.json(
        Object.fromEntries(
          ['cpu', 'memory', 'disk', 'process', 'eventLoop'].map((k) => [k, { available: false, reason }]),
        ),
        200,
      );
    }
    return c.json(await s.hostMetrics(), 200);
  })
  .openapi(dbRoute, async (c) => {
    const s = c.get('services');
    return c.json(
      {
        ...(await databaseStats(s.db)),
        pool: s.poolStats?.() ?? { available: false, reason: 'one connection per request on Workers' },
      },
      200,
    );
  })
  .openapi(deployRoute, (c) => {
    const s = c.get('services');
    return c.json(
      {
        commit: s.config.deployCommit ?? null,
        deployedAt: s.config.deployTime ?? null,
        version: APP_VERSION,
        runtime: s.runtime,
        startedAt: new Date(s.startedAt).toISOString(),
        instance: s.instanceId,
      },
      200,
    );
  })
  .openapi(activeUsersRoute, async (c) =>
    c.json({ windowMinutes: 15, users: await activeUsers(c.get('services').db, 15) }, 200),
  )
  .openapi(errorsRoute, async (c) => {
    const q = c.req.valid('query');
    const to = q.to ?? new Date();
    const from = q.from ?? new Date(to.getTime() - 24 * HOUR);
    return c.json(
      {
        from: from.toISOString(),
        to: to.toISOString(),
        groups: await errorsByRoute(c.get('services').db, { from, to, include4xx: q.include4xx === 'true' }),
      },
      200,
    );
  })
  .openapi(statsRoute, async (c) => {
    const [span, bucketMinutes] = WINDOWS[c.req.valid('query').window];
    const to = new Date(Math.ceil(Date.now() / 60_000) * 60_000);
    const from = new Date(to.getTime() - span);
    return c.json(
      { bucketMinutes, buckets: await requestStats(c.get('services').db, { from, to, bucketMinutes }) },
      200,
    );
  })
  .openapi(logsRoute, async (c) => {
    const q = c.req.valid('query');
    const status = q.status?.endsWith('xx')
      ? { class: Number(q.status[0]) }
      : q.status
        ? { exact: Number(q.status) }
        : undefined;
    const page = await listRequestLogs(c.get('services').db, {
      from: q.from,
      to: q.to,
      status,
      method: q.method,
      pathContains: q.path,
      route: q.route,
      userId: q.user_id,
      limit: q.limit,
      cursor: q.cursor,
    });
    return c.json(page, 200);
  });
