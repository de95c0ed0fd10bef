import { type Context, Hono } from 'hono';
import type { Child } from 'hono/jsx';
import type { z } from 'zod';
import { can } from '../../lib/auth/permissions.ts';
import { LoginError, login, logout } from '../../lib/auth/service.ts';
import { isDatabaseUnavailable } from '../../lib/errors.ts';
import { findJob, JOBS } from '../../lib/jobs/registry.ts';
import { listCronLogs } from '../../lib/jobs/repository.ts';
import { runJob } from '../../lib/jobs/runner.ts';
import { jobStatuses } from '../../lib/jobs/status.ts';
import {
  activeUsers,
  databaseStats,
  errorsByRoute,
  listRequestLogs,
  requestStats,
} from '../../lib/observability/queries.ts';
import { redactSecrets } from '../../lib/observability/redact.ts';
import { InvalidCursorError } from '../../lib/pagination.ts';
import { APP_VERSION, withTimeout } from '../../lib/runtime.ts';
import { userLabels } from '../../lib/users.ts';
import {
  ErrorsPageQuery,
  JobParam,
  JobsPageQuery,
  LoginForm,
  LoginPageQuery,
  LogsPageQuery,
  NoQuery,
  statusFilter,
  TIME_RANGES,
} from '../../schema/dashboard.ts';
import { ApiError, toApiError } from '../errors.ts';
import { checkServicesHealth } from '../health.ts';
import { runnerDeps } from '../jobs-http.ts';
import { DASHBOARD_ASSETS } from './assets.ts';
import { type Loaded, Shell, type TabId } from './layout.tsx';
import { DatabasePage } from './pages/database.tsx';
import { ErrorsPage } from './pages/errors.tsx';
import { JobsPage } from './pages/jobs.tsx';
import { LoginPage } from './pages/login.tsx';
import { LogsPage } from './pages/logs.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { ProblemPage, type ProblemView } from './pages/problem.tsx';
import { UsersPage } from './pages/users.tsx';
import {
  clearSessionCookies,
  type DashboardEnv,
  isSameOriginPost,
  refreshCookie,
  requireDashboardAdmin,
  safeNext,
  setSessionCookies,
} from './session.ts';

type DashboardContext = Context<DashboardEnv>;

// Scripts and styles only from this origin, no inline code, no framing, forms post only here.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const ACTIVE_USER_WINDOW_MIN = 15;
const CHART_BUCKET_MIN = 15;
const DAY_MS = 86_400_000;

/** The query as a schema reads it: empty form fields are "no filter". Anything invalid is a 400 page. */
function parseQuery<S extends z.ZodType>(c: DashboardContext, schema: S): z.output<S> {
  const raw = Object.fromEntries(Object.entries(c.req.query()).filter(([, value]) => value !== ''));
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`);
    throw new ApiError(
      400,
      'VALIDATION_FAILED',
      `This page's address has ${problems.length === 1 ? 'a bad parameter' : 'bad parameters'}`,
      problems,
    );
  }
  return parsed.data;
}

/** A panel's data, or the reason it failed: one dependency failing leaves the rest of the page. */
async function load<T>(c: DashboardContext, what: string, work: () => Promise<T>): Promise<Loaded<T>> {
  const { config, logger } = c.get('services');
  try {
    return { ok: true, value: await withTimeout(work(), Math.max(5000, 4 * config.healthTimeoutMs), what) };
  } catch (error) {
    if (error instanceof InvalidCursorError) throw error;
    const message = redactSecrets(error instanceof Error ? error.message : String(error));
    logger.warn('dashboard panel failed', { what, error: message, requestId: c.get('requestId') });
    return { ok: false, error: isDatabaseUnavailable(error) ? `the database is unavailable (${message})` : message };
  }
}

function page(c: DashboardContext, tab: TabId, title: string, body: Child) {
  const notice = c.get('sessionDegraded') ? (
    <div class="alert warn" role="status">
      The database did not answer, so your access was checked against your signed session only. Panels that need the
      database show why they are empty.
    </div>
  ) : undefined;
  return c.html(
    <Shell tab={tab} title={title} user={c.get('auth')!} notice={notice}>
      {body}
    </Shell>,
  );
}

const TITLES: Record<number, string> = {
  400: 'That address has a problem',
  403: 'Not allowed',
  404: 'Page not found',
  429: 'Too many attempts',
  503: 'A dependency is unavailable',
};

function problem(c: DashboardContext, view: ProblemView) {
  return c.html(<ProblemPage {...view} requestId={c.get('requestId')} />, view.status as 400);
}

function forbidden(c: DashboardContext, role: string) {
  return problem(c, {
    status: 403,
    title: TITLES[403] as string,
    message: `Your account's role (${role}) cannot open the dashboard: it is for md and admin accounts.`,
    action: { href: '/admin/login', label: 'Log in as someone else' },
  });
}

export const dashboard = new Hono<DashboardEnv>();

dashboard.onError((error, c) => {
  const apiError = toApiError(error);
  if (!(error instanceof ApiError) && apiError.status >= 500) {
    c.get('services')?.logger.error('dashboard page failed', {
      requestId: c.get('requestId'),
      path: c.req.path,
      error,
    });
  }
  for (const [name, value] of Object.entries(apiError.headers ?? {})) c.header(name, value);
  const details = Array.isArray(apiError.details)
    ? apiError.details.filter((d): d is string => typeof d === 'string')
    : undefined;
  const auth = c.get('auth');
  return problem(c, {
    status: apiError.status,
    title: TITLES[apiError.status] ?? 'Something went wrong',
    message: apiError.message,
    details,
    user: auth && can(auth.role, 'admin:access') ? auth : undefined,
  });
});

dashboard.use('/admin/*', async (c, next) => {
  if (c.req.method === 'POST' && !isSameOriginPost(c)) {
    return problem(c, {
      status: 403,
      title: 'Cross-site request refused',
      message: 'This form must be sent from the dashboard itself (the Origin header did not match this site).',
    });
  }
  await next();
  c.header('Content-Security-Policy', CSP);
  if (!c.req.path.startsWith('/admin/assets/')) c.header('Cache-Control', 'no-store');
});

dashboard.get('/admin/assets/:file', (c) => {
  const asset = DASHBOARD_ASSETS[c.req.param('file')];
  if (!asset) throw new ApiError(404, 'NOT_FOUND', `no dashboard asset ${c.req.param('file')}`);
  c.header('Content-Type', asset.type);
  c.header(
    'Cache-Control',
    c.req.query('v') === asset.version ? 'public, max-age=31536000, immutable' : 'public, max-age=300',
  );
  return c.body(asset.body);
});

dashboard.get('/admin', (c) => c.redirect('/admin/system', 302));

dashboard.get('/admin/login', (c) => {
  const q = parseQuery(c, LoginPageQuery);
  const notice =
    q.reason === 'logged-out'
      ? 'You are logged out.'
      : q.reason === 'expired'
        ? 'Your session has ended. Log in again.'
        : undefined;
  return c.html(<LoginPage next={q.next ? safeNext(q.next) : undefined} notice={notice} />);
});

dashboard.post('/admin/login', async (c) => {
  const form = await c.req.parseBody();
  const field = (name: string) => (typeof form[name] === 'string' && form[name] !== '' ? form[name] : undefined);
  const parsed = LoginForm.safeParse({ email: field('email'), password: field('password'), next: field('next') });
  const next = safeNext(field('next'));
  if (!parsed.success) {
    return c.html(
      <LoginPage email={field('email')} next={next} error={parsed.error.issues.map((i) => i.message).join('; ')} />,
      400,
    );
  }
  const { db, config } = c.get('services');
  let session: Awaited<ReturnType<typeof login>>;
  try {
    session = await login(db, config.auth, { ...parsed.data, ip: c.get('clientIp') });
  } catch (error) {
    if (!(error instanceof LoginError)) throw error;
    if (error.retryAfterSeconds) c.header('Retry-After', String(error.retryAfterSeconds));
    return c.html(
      <LoginPage
        email={parsed.data.email}
        next={next}
        error={`${error.message[0]?.toUpperCase()}${error.message.slice(1)}.`}
      />,
      error.reason === 'throttled' ? 429 : 401,
    );
  }
  if (!can(session.user.role, 'admin:access')) {
    // The password was right, but this account has no business here: end the login it started.
    await logout(db, session.refreshToken);
    return forbidden(c, session.user.role);
  }
  setSessionCookies(c, {
    accessToken: session.accessToken,
    accessTtlSeconds: session.expiresIn,
    refreshToken: session.refreshToken,
    refreshTtlSeconds: config.auth.refreshTtlSeconds,
  });
  return c.redirect(next, 303);
});

dashboard.post('/admin/logout', async (c) => {
  const token = refreshCookie(c);
  clearSessionCookies(c);
  if (token && token.length <= 256) await logout(c.get('services').db, token);
  return c.redirect('/admin/login?reason=logged-out', 303);
});

const admin = requireDashboardAdmin(forbidden);
dashboard.use('/admin/system', admin);
dashboard.use('/admin/system/*', admin);

dashboard.get('/admin/system', async (c) => {
  parseQuery(c, NoQuery);
  const s = c.get('services');
  const now = new Date();
  // 24 h of whole buckets ending with the current one, so the axis lands on bucket boundaries.
  const bucketMs = CHART_BUCKET_MIN * 60_000;
  const to = new Date(Math.floor(now.getTime() / bucketMs) * bucketMs + bucketMs);
  const from = new Date(to.getTime() - DAY_MS);
  const [health, metrics, stats, active, jobs] = await Promise.all([
    load(c, 'health', () => checkServicesHealth(s)),
    load(c, 'host metrics', async () =>
      s.hostMetrics
        ? s.hostMetrics()
        : { cpu: { available: false, reason: 'a Worker runs on Cloudflare machines, which expose no host metrics' } },
    ),
    load(c, 'request statistics', async () => ({
      buckets: await requestStats(s.db, { from, to, bucketMinutes: CHART_BUCKET_MIN }),
      bucketMinutes: CHART_BUCKET_MIN,
    })),
    load(c, 'active users', async () => (await activeUsers(s.db, ACTIVE_USER_WINDOW_MIN)).length),
    load(c, 'jobs', () => jobStatuses(s.db, JOBS)),
  ]);
  const data = {
    health,
    metrics,
    stats,
    activeUsers: active,
    jobs,
    writer: s.requestLogs.stats(),
    scheduler: s.scheduler?.by ?? null,
    deploy: {
      commit: s.config.deployCommit ?? null,
      deployedAt: s.config.deployTime ?? null,
      version: APP_VERSION,
      runtime: s.runtime,
      startedAt: new Date(s.startedAt),
    },
    now,
  };
  return page(c, 'overview', 'Overview', <OverviewPage data={data} />);
});

dashboard.get('/admin/system/logs', async (c) => {
  const query = parseQuery(c, LogsPageQuery);
  const { db } = c.get('services');
  const now = new Date();
  const result = await load(c, 'request logs', async () => {
    const found = await listRequestLogs(db, {
      from: new Date(now.getTime() - TIME_RANGES[query.range]),
      status: statusFilter(query.status),
      method: query.method,
      pathContains: query.path,
      route: query.route,
      limit: query.limit,
      cursor: query.cursor,
    });
    const users = await userLabels(
      db,
      found.items.flatMap((r) => (r.userId ? [r.userId] : [])),
    );
    return {
      items: found.items.map((r) => ({ ...r, user: (r.userId && users.get(r.userId)) || null })),
      nextCursor: found.nextCursor,
    };
  });
  return page(c, 'logs', 'API Logs', <LogsPage data={{ query, page: result, now }} />);
});

dashboard.get('/admin/system/jobs', async (c) => {
  const query = parseQuery(c, JobsPageQuery);
  const { db } = c.get('services');
  const [jobs, history] = await Promise.all([
    load(c, 'jobs', () => jobStatuses(db, JOBS)),
    load(c, 'job history', () =>
      listCronLogs(db, { job: query.job, status: query.status, limit: query.limit, cursor: query.cursor }),
    ),
  ]);
  const ran = (query.ran && history.ok && history.value.items.find((r) => r.id === query.ran)) || null;
  return page(c, 'jobs', 'Cron Jobs', <JobsPage data={{ query, jobs, history, ran, now: new Date() }} />);
});

dashboard.post('/admin/system/jobs/:job/run', async (c) => {
  const auth = c.get('auth')!;
  if (!can(auth.role, 'jobs:run')) throw new ApiError(403, 'FORBIDDEN', `role ${auth.role} may not run jobs`);
  const parsed = JobParam.safeParse(c.req.param());
  const job = parsed.success ? findJob(parsed.data.job) : undefined;
  if (!job) throw new ApiError(404, 'NOT_FOUND', `There is no job named ${c.req.param('job')}.`);
  const result = await runJob(runnerDeps(c.get('services')), job, { kind: 'manual' });
  return c.redirect(result.run?.id ? `/admin/system/jobs?ran=${result.run.id}` : '/admin/system/jobs', 303);
});

dashboard.get('/admin/system/database', async (c) => {
  parseQuery(c, NoQuery);
  const s = c.get('services');
  const stats = await load(c, 'database statistics', () => databaseStats(s.db));
  const pool = s.poolStats?.() ?? { unavailable: 'a Worker opens one connection per request; there is no pool' };
  return page(c, 'database', 'Database', <DatabasePage data={{ stats, pool, now: new Date() }} />);
});

dashboard.get('/admin/system/errors', async (c) => {
  const q = parseQuery(c, ErrorsPageQuery);
  const query = { range: q.range, include4xx: q.include4xx === 'on' || q.include4xx === 'true' };
  const now = new Date();
  const groups = await load(c, 'errors', () =>
    errorsByRoute(c.get('services').db, {
      from: new Date(now.getTime() - TIME_RANGES[query.range]),
      to: now,
      include4xx: query.include4xx,
    }),
  );
  return page(c, 'errors', 'Errors', <ErrorsPage data={{ query, groups, now }} />);
});

dashboard.get('/admin/system/users', async (c) => {
  parseQuery(c, NoQuery);
  const users = await load(c, 'active users', () => activeUsers(c.get('services').db, ACTIVE_USER_WINDOW_MIN));
  return page(
    c,
    'users',
    'Active Users',
    <UsersPage data={{ users, windowMinutes: ACTIVE_USER_WINDOW_MIN, now: new Date() }} />,
  );
});

dashboard.get('/admin/*', () => {
  throw new ApiError(404, 'NOT_FOUND', 'There is no dashboard page at this address.');
});
