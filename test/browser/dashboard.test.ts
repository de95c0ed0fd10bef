import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken } from '../../lib/auth/tokens.ts';
import { type RequestLogEntry, RequestLogWriter } from '../../lib/observability/request-log-writer.ts';
import { artifactPath, browserUnavailable, launchBrowser, type TestBrowser } from '../support/browser.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/database.ts';
import { startTestServer, type TestServer } from '../support/node-server.ts';
import { waitFor } from '../support/processes.ts';
import { startTestS3, type TestS3 } from '../support/s3.ts';
import { seedUser } from '../support/users.ts';

// The dashboard in a real browser (Debian's Chromium through playwright-core) against the Node
// server on a real database. Screenshots of every tab go to test-artifacts/dashboard/.

const unavailable = browserUnavailable();
if (unavailable && process.env.CI) throw new Error(`CI must run the browser suites: ${unavailable}`);
if (unavailable) console.warn(`[skipped] test/browser/dashboard.test.ts: ${unavailable}`);

const VIEWER_ZONE = 'Asia/Tokyo';
const ERROR_CODES: Record<number, string> = { 500: 'INTERNAL', 404: 'NOT_FOUND', 401: 'UNAUTHORIZED' };
const ROUTES = [
  { method: 'GET', route: '/api/auth/me', path: () => '/api/auth/me' },
  { method: 'GET', route: '/api/users', path: () => '/api/users?limit=20' },
  { method: 'GET', route: '/api/users/:id', path: () => `/api/users/${crypto.randomUUID()}` },
  { method: 'POST', route: '/api/auth/login', path: () => '/api/auth/login' },
  { method: 'GET', route: '/api/admin/system/jobs', path: () => '/api/admin/system/jobs' },
];

/** A day of past traffic, written through the real request-log writer (rows and rollup). */
async function seedDayOfTraffic(server: TestServer, userId: string): Promise<void> {
  const writer = new RequestLogWriter();
  const now = Date.now();
  let n = 0;
  for (let minutesAgo = 24 * 60; minutesAgo > 2; minutesAgo -= 4) {
    const busy = 3 + Math.round(4 * (1 + Math.sin(minutesAgo / 180)));
    for (let i = 0; i < busy; i++) {
      const r = ROUTES[n++ % ROUTES.length] as (typeof ROUTES)[number];
      const status = n % 97 === 0 ? 500 : n % 41 === 0 ? 404 : n % 53 === 0 ? 401 : 200;
      const entry: RequestLogEntry = {
        createdAt: new Date(now - minutesAgo * 60_000 + i * 1000),
        method: r.method,
        path: r.path(),
        route: status === 404 ? null : r.route,
        status,
        durationMs: 2 + ((n * 7919) % 90) + (status === 500 ? 400 : 0),
        userId: n % 3 === 0 ? userId : null,
        ip: '203.0.113.9',
        requestId: `seed-${n}`,
        errorCode: ERROR_CODES[status] ?? null,
        errorMessage:
          status === 500 ? 'connect ETIMEDOUT 10.0.0.7:5432' : status === 401 ? 'access token has expired' : null,
      };
      writer.add(entry);
    }
    if (writer.batchReady) await writer.flush(server.services.db);
  }
  await writer.drain(server.services.db);
}

/** A page of another origin (another port) whose form posts to the dashboard, as a hostile site would. */
async function startHostileSite(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const html = `<!doctype html><form method="post" action="${target}/admin/system/jobs/log_cleanup/run">
<button type="submit">Win a prize</button></form>`;
  const site: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(html);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(site.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        site.close(() => resolve());
        site.closeAllConnections(); // the browser keeps its connection alive
      }),
  };
}

/** The ids of the log rows on the page, in order. */
const logIds = (page: Page) =>
  page.locator('tr[data-log-id]').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-log-id'))));

// The UI is the subject here, not the database: one kind is enough (real PostgreSQL when there is one).
describe.skipIf(unavailable !== null)('dashboard in Chromium', () => {
  const kind = databaseKinds().at(-1) ?? 'pglite';
  let database: TestDatabase;
  let s3: TestS3;
  let server: TestServer;
  let browser: TestBrowser;
  let page: Page;
  let owner: Awaited<ReturnType<typeof seedUser>>;
  let agent: Awaited<ReturnType<typeof seedUser>>;
  const shot = (name: string) => page.screenshot({ path: artifactPath('dashboard', name), fullPage: true });

  beforeAll(async () => {
    [database, s3] = await Promise.all([createTestDatabase(kind), startTestS3()]);
    server = await startTestServer({
      DATABASE_URL: database.url,
      ...s3.env,
      DEPLOY_COMMIT: '3f9c2e17ab54d0e8c1a2',
      DEPLOY_TIME: new Date(Date.now() - 5 * 3_600_000).toISOString(),
    });
    owner = await seedUser(database.db, 'md', { name: 'Morgan Owner' });
    agent = await seedUser(database.db, 'agent', { name: 'Ada Agent' });
    await seedDayOfTraffic(server, agent.id);
    // Real requests through the whole stack: an agent at work, a few misses and refusals.
    const login = await server.login('192.0.2.10', agent.email, agent.password);
    const auth = { authorization: `Bearer ${login.body.accessToken}` };
    for (let i = 0; i < 5; i++) await server.request('/api/auth/me', { headers: auth });
    for (let i = 0; i < 3; i++) await server.request(`/api/missing-${i}`);
    await server.request('/api/users', { headers: auth });
    await server.services.requestLogs.drain(server.services.db);
    browser = await launchBrowser({ timezoneId: VIEWER_ZONE });
    page = await browser.context.newPage();
    browser.context.setDefaultTimeout(10_000);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await Promise.all([database?.drop(), s3?.stop()]);
  });

  it('a signed-out visit lands on the login form; logging in opens the Overview', async () => {
    await page.goto(`${server.url}/admin/system`);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    await page.getByLabel('Email').fill(owner.email);
    await page.getByLabel('Password').fill(owner.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${server.url}/admin/system`);
    await expect.poll(() => page.locator('[data-dependency=database]').getAttribute('data-status')).toBe('up');
    expect(await page.locator('[data-dependency=storage]').getAttribute('data-status')).toBe('up');
    const requestsToday = await page.locator('[data-stat=requests-today] .stat').textContent();
    expect(Number(requestsToday?.replaceAll(',', ''))).toBeGreaterThan(0);
    expect(await page.locator('[data-stat=deploy] .stat').textContent()).toBe('3f9c2e17ab');
    expect(await page.locator('rect.bar-req').count()).toBeGreaterThan(50);
    expect(await page.locator('rect.bar-err').count()).toBeGreaterThan(0);
    expect(await page.locator('path.line').count()).toBeGreaterThan(0);
    expect(await page.locator('.meter').count()).toBe(3);
    // Times in the viewer's zone, UTC on hover.
    expect(await page.locator('[data-zone]').textContent()).toBe(VIEWER_ZONE);
    const deployed = page.locator('[data-stat=deploy] time').first();
    expect(await deployed.getAttribute('title')).toMatch(/ UTC$/);
    expect(await deployed.textContent()).not.toContain('UTC');
    await shot('overview');
  });

  it('API Logs: filter by status and path, page through and back to the newest', async () => {
    await page.getByRole('link', { name: 'API Logs' }).click();
    await page.waitForURL('**/admin/system/logs');
    expect(await page.locator('tr[data-log-id]').count()).toBe(50);
    await shot('logs');

    await page.getByLabel('Status').fill('404');
    await page.locator('select[name=limit]').selectOption('25');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/status=404/);
    const statuses = await page.locator('tr[data-log-id] .st').allInnerTexts();
    expect(statuses.length).toBeGreaterThan(3);
    expect(new Set(statuses)).toEqual(new Set(['404']));

    await page.getByLabel('Status').fill('');
    await page.getByLabel('Path contains').fill('auth/me');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/path=auth%2Fme/);
    const paths = await page.locator('tr[data-log-id] td.path code').allInnerTexts();
    expect(paths.length).toBe(25);
    expect(paths.every((p) => p === '/api/auth/me')).toBe(true);

    const first = await logIds(page);
    await page.getByRole('link', { name: 'Older →' }).click();
    await page.waitForURL(/cursor=/);
    const second = await logIds(page);
    expect(second.length).toBe(25);
    expect(second.filter((id) => first.includes(id))).toEqual([]);
    expect(await page.locator('input[data-auto-refresh]').isDisabled()).toBe(true);
    const secondCursor = new URL(page.url()).searchParams.get('cursor');
    await page.getByRole('link', { name: 'Older →' }).click();
    await page.waitForURL((url) => url.searchParams.get('cursor') !== secondCursor);
    const third = await logIds(page);
    expect(third.filter((id) => first.includes(id) || second.includes(id))).toEqual([]);
    await page.getByRole('link', { name: '← Newest' }).click();
    await page.waitForURL((url) => !url.searchParams.has('cursor'));
    expect(await logIds(page)).toEqual(first);
  });

  it('API Logs: auto-refresh brings in a new request without reloading the page', async () => {
    await page.goto(`${server.url}/admin/system/logs?range=15m`);
    await page.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    const toggle = page.getByLabel('Auto-refresh');
    await toggle.check();
    const marker = `/api/refresh-probe-${Date.now()}`;
    await server.request(marker);
    await page.locator('td.path code', { hasText: marker }).waitFor({ timeout: 20_000 });
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await toggle.uncheck();
  });

  it('Cron Jobs: Run now adds a manual run to the history, which filters by job', async () => {
    await page.getByRole('link', { name: 'Cron Jobs' }).click();
    await page.waitForURL('**/admin/system/jobs');
    const card = page.locator('[data-job=log_cleanup]');
    expect(await card.locator('.badge').last().textContent()).toBe('not run yet');
    expect(await page.locator('.empty').textContent()).toContain('No jobs have run yet');
    await card.getByRole('button', { name: 'Run now' }).click();
    await page.waitForURL(/ran=\d+/);
    const ran = new URL(page.url()).searchParams.get('ran');
    expect(await page.locator(`[data-ran="${ran}"]`).textContent()).toContain('log_cleanup ran');
    const row = page.locator(`tr[data-run-id="${ran}"]`);
    expect(await row.getAttribute('class')).toBe('hl');
    expect(await row.locator('td').nth(2).textContent()).toBe('manual');
    expect(await row.locator('td').nth(3).textContent()).toBe('success');
    expect(await card.locator('.badge').last().textContent()).toBe('success');
    await shot('jobs');

    await page.getByRole('link', { name: 'Cron Jobs' }).click();
    await page.locator('select[name=job]').selectOption('log_cleanup');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/job=log_cleanup/);
    const names = await page.locator('tr[data-run-id] td:nth-child(2)').allInnerTexts();
    expect(names).toEqual(['log_cleanup']);
  });

  it('Database, Errors and Active Users show what is in the database', async () => {
    await page.getByRole('link', { name: 'Database' }).click();
    await page.waitForURL('**/admin/system/database');
    const tables = await page.locator('[data-tables] tbody td:first-child').allInnerTexts();
    expect(tables).toContain('request_logs');
    expect(await page.locator('[data-panel=pool] .meter').count()).toBe(1);
    await shot('database');

    await page.getByRole('link', { name: 'Errors' }).click();
    await page.waitForURL('**/admin/system/errors');
    const serverErrors = page.locator('details.group[data-status="500"]');
    expect(await serverErrors.count()).toBeGreaterThan(0);
    await serverErrors.first().locator('summary').click();
    await expect.poll(() => serverErrors.first().locator('li').first().isVisible()).toBe(true);
    expect(await serverErrors.first().locator('li').first().textContent()).toBe('connect ETIMEDOUT 10.0.0.7:5432');
    await page.getByLabel('Include 4xx').check();
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/include4xx=on/);
    expect(await page.locator('details.group[data-status="404"]').count()).toBeGreaterThan(0);
    await page.locator('details.group summary').first().click();
    await shot('errors');

    await page.getByRole('link', { name: 'Active Users' }).click();
    await page.waitForURL('**/admin/system/users');
    const row = page.locator('[data-users] tr', { hasText: 'Ada Agent' });
    expect(await row.locator('.badge').textContent()).toBe('agent');
    // (its last request, GET /api/users, was refused before the user was known: a 403 is not attributed)
    expect(await row.locator('td.path').textContent()).toBe('/api/auth/me');
    await shot('users');
  });

  it('a form posted from another origin is refused and runs nothing', async () => {
    const count = async () =>
      (
        await database.db
          .selectFrom('cron_job_logs')
          .select(sql<number>`count(*)::int`.as('n'))
          .executeTakeFirstOrThrow()
      ).n;
    const before = await count();
    const hostile = await startHostileSite(server.url);
    try {
      const other = await browser.context.newPage();
      await other.goto(hostile.url);
      await other.getByRole('button', { name: 'Win a prize' }).click();
      await other.waitForURL(`${server.url}/admin/system/jobs/log_cleanup/run`);
      expect(await other.locator('h1').textContent()).toBe('Cross-site request refused');
      await other.close();
    } finally {
      await hostile.close();
    }
    expect(await count()).toBe(before);
  });

  it('logging out returns to the login page and closes the tabs', async () => {
    await page.goto(`${server.url}/admin/system`);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL('**/admin/login?reason=logged-out');
    expect(await page.getByRole('status').textContent()).toBe('You are logged out.');
    expect((await browser.context.cookies()).filter((c) => c.name.startsWith('opsbase_'))).toEqual([]);
    await page.goto(`${server.url}/admin/system/logs`);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
  });

  it('a non-admin login is refused', async () => {
    await page.goto(`${server.url}/admin/login`);
    await page.getByLabel('Email').fill(agent.email);
    await page.getByLabel('Password').fill(agent.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('[data-problem="403"]').waitFor();
    expect(await page.locator('[data-problem="403"]').textContent()).toContain('(agent) cannot open the dashboard');
    await page.goto(`${server.url}/admin/system`);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
  });

  it('a forged session cookie is refused', async () => {
    const settings = server.services.config.auth.tokens;
    const forged = await signAccessToken(
      { ...settings, secret: new TextEncoder().encode('guessed-secret-guessed-secret-0123') },
      { userId: owner.id, role: 'md' },
    );
    await browser.context.addCookies([
      {
        name: 'opsbase_session',
        value: forged,
        domain: '127.0.0.1',
        path: '/admin',
        httpOnly: true,
        sameSite: 'Strict',
      },
    ]);
    await page.goto(`${server.url}/admin/system`);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    await waitFor(
      async () => !(await browser.context.cookies()).some((c) => c.name === 'opsbase_session'),
      5000,
      'the forged cookie to be cleared',
    );
  });
});
