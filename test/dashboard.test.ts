import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken } from '../lib/auth/tokens.ts';
import { cookieAttributes, DashboardClient } from './support/dashboard-client.ts';
import { createTestDatabase, databaseKinds, type TestDatabase, withPort } from './support/database.ts';
import { startTestServer, type TestServer } from './support/node-server.ts';
import { servedRoutes } from './support/openapi-operations.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';
import { seedUser } from './support/users.ts';

// The dashboard's contract without a browser (test/browser/dashboard.test.ts drives Chromium):
// who gets in, what the cookies are, CSRF, bad addresses, and pages that survive a dead database.

/** Dashboard routes anyone may reach; every other /admin route needs an md/admin session. */
const PUBLIC_ROUTES = [
  'GET /admin',
  'GET /admin/*',
  'GET /admin/assets/:file',
  'GET /admin/login',
  'POST /admin/login',
  'POST /admin/logout',
];

const TABS = [
  '/admin/system',
  '/admin/system/logs',
  '/admin/system/jobs',
  '/admin/system/database',
  '/admin/system/errors',
  '/admin/system/users',
];

const locationOf = (res: Response) => res.headers.get('location') ?? '';

describe.each(databaseKinds())('dashboard on %s', (kind) => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let server: TestServer;
  let admin: Awaited<ReturnType<typeof seedUser>>;
  let agent: Awaited<ReturnType<typeof seedUser>>;
  let ipCounter = 0;
  /** A client from its own address, so login throttling of one test never reaches another. */
  const client = () => {
    const from = `198.51.100.${++ipCounter}`;
    return new DashboardClient(server.url, (url, init) =>
      fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), 'x-forwarded-for': from } }),
    );
  };
  const signedIn = async () => {
    const c = client();
    const res = await c.login(admin.email, admin.password);
    expect(res.status).toBe(303);
    return c;
  };

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    proxy = await startTcpProxy(database.port);
    server = await startTestServer({ DATABASE_URL: withPort(database.url, proxy.port), HEALTH_TIMEOUT_MS: '1000' });
    admin = await seedUser(database.db, 'admin', { name: 'Dana Admin' });
    agent = await seedUser(database.db, 'agent', { name: 'Andy Agent' });
  });
  afterAll(async () => {
    await server?.close();
    await proxy?.close();
    await database?.drop();
  });

  it('every /admin route but login, logout and assets sends a visitor without a session to the login page', async () => {
    const routes = servedRoutes(server.app).filter((key) => key.split(' ')[1]?.startsWith('/admin'));
    expect(routes.length).toBeGreaterThan(PUBLIC_ROUTES.length);
    expect(PUBLIC_ROUTES.filter((key) => !routes.includes(key))).toEqual([]);
    const c = client();
    for (const key of routes.filter((k) => !PUBLIC_ROUTES.includes(k))) {
      const [method, path = ''] = key.split(' ');
      const url = path.replace(':job', 'log_cleanup').replace('/*', '/anything');
      const res = method === 'POST' ? await c.post(url) : await c.get(url);
      expect({ key, status: res.status, location: locationOf(res) }).toMatchObject({
        status: 303,
        location: expect.stringMatching(/^\/admin\/login/),
      });
    }
    const res = await c.get('/admin/system/logs?range=1h');
    expect(locationOf(res)).toBe(`/admin/login?next=${encodeURIComponent('/admin/system/logs?range=1h')}`);
  });

  it('login sets HttpOnly, SameSite=Strict cookies scoped to /admin, Secure only over https', async () => {
    const plain = await client().login(admin.email, admin.password);
    expect(plain.status).toBe(303);
    expect(locationOf(plain)).toBe('/admin/system');
    for (const name of ['opsbase_session', 'opsbase_refresh']) {
      const attributes = cookieAttributes(plain, name);
      expect(attributes).toMatchObject({ httponly: true, samesite: 'Strict', path: '/admin' });
      expect(attributes?.secure).toBeUndefined();
    }
    // Behind a TLS-terminating proxy (the test server's peer, 127.0.0.1, is a trusted proxy).
    const tls = client();
    const viaHttps = await tls.post(
      '/admin/login',
      { email: admin.email, password: admin.password },
      { origin: `https://${new URL(server.url).host}`, headers: { 'x-forwarded-proto': 'https' } },
    );
    expect(viaHttps.status).toBe(303);
    expect(cookieAttributes(viaHttps, 'opsbase_session')?.secure).toBe(true);
    expect(cookieAttributes(viaHttps, 'opsbase_refresh')?.secure).toBe(true);
  });

  it('a wrong password shows the form again (401); past the limit it is 429 with Retry-After', async () => {
    const c = client();
    const wrong = await c.login(admin.email, 'not-the-password');
    expect(wrong.status).toBe(401);
    const html = await wrong.text();
    expect(html).toContain('Email or password is incorrect');
    expect(html).toContain(`value="${admin.email}"`);
    expect(c.cookies.size).toBe(0);
    let last = wrong;
    for (let i = 0; i < 5; i++) last = await c.login(admin.email, 'not-the-password');
    expect(last.status).toBe(429);
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await last.text()).toContain('Too many failed logins');
  });

  it("a non-admin's correct password is refused with 403 and leaves no live session", async () => {
    const c = client();
    const res = await c.login(agent.email, agent.password);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('Your account&#39;s role (agent) cannot open the dashboard');
    expect(c.cookies.size).toBe(0);
    const live = await database.db
      .selectFrom('refresh_tokens')
      .select('id')
      .where('user_id', '=', agent.id)
      .where('revoked_at', 'is', null)
      .execute();
    expect(live).toEqual([]);
  });

  it('a forged session cookie goes back to the login page and is cleared', async () => {
    const c = client();
    const forged = await signAccessToken(
      { ...server.services.config.auth.tokens, secret: new TextEncoder().encode('another-secret-another-secret-0123') },
      { userId: admin.id, role: 'admin' },
    );
    c.cookies.set('opsbase_session', forged);
    const res = await c.get('/admin/system');
    expect(res.status).toBe(303);
    expect(locationOf(res)).toMatch(/^\/admin\/login/);
    expect(cookieAttributes(res, 'opsbase_session')?.['max-age']).toBe('0');
    c.cookies.set('opsbase_refresh', 'made-up-refresh-token');
    c.cookies.set('opsbase_session', 'not.a.jwt');
    expect(locationOf(await c.get('/admin/system/logs'))).toMatch(/^\/admin\/login/);
  });

  it('an expired access cookie is renewed from the refresh cookie without spending it', async () => {
    const c = await signedIn();
    const refresh = c.cookies.get('opsbase_refresh');
    const settings = server.services.config.auth.tokens;
    const expired = await signAccessToken(
      { ...settings, accessTtlSeconds: -(settings.clockToleranceSeconds + 60) },
      { userId: admin.id, role: 'admin' },
    );
    c.cookies.set('opsbase_session', expired);
    // Two tabs renewing at once must not look like a stolen token.
    const [a, b] = await Promise.all([c.get('/admin/system/users'), c.get('/admin/system/database')]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(cookieAttributes(a, 'opsbase_session')?.['max-age']).toBe(String(settings.accessTtlSeconds));
    expect(c.cookies.get('opsbase_refresh')).toBe(refresh);
    expect(c.cookies.get('opsbase_session')).not.toBe(expired);
    expect((await c.get('/admin/system')).status).toBe(200);
  });

  it('logout ends the session: the old refresh cookie no longer renews anything', async () => {
    const c = await signedIn();
    const saved = new Map(c.cookies);
    const out = await c.post('/admin/logout');
    expect(out.status).toBe(303);
    expect(locationOf(out)).toBe('/admin/login?reason=logged-out');
    expect(c.cookies.size).toBe(0);
    expect(await (await c.get('/admin/login?reason=logged-out')).text()).toContain('You are logged out.');
    const replay = client();
    replay.cookies.set('opsbase_refresh', saved.get('opsbase_refresh') as string);
    expect(locationOf(await replay.get('/admin/system'))).toMatch(/^\/admin\/login/);
  });

  it('a session whose role lost admin access gets the 403 page', async () => {
    const user = await seedUser(database.db, 'admin');
    const c = client();
    expect((await c.login(user.email, user.password)).status).toBe(303);
    await database.db.updateTable('users').set({ role: 'manager' }).where('id', '=', user.id).execute();
    const res = await c.get('/admin/system');
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('(manager) cannot open the dashboard');
  });

  it('refuses POSTs without a same-origin Origin (login, logout, Run now) and runs nothing', async () => {
    const c = await signedIn();
    const runs = () =>
      database.db.selectFrom('cron_job_logs').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
    const before = (await runs()).n;
    for (const origin of ['http://evil.example', 'null', null, `https://${new URL(server.url).host}`]) {
      for (const path of ['/admin/system/jobs/log_cleanup/run', '/admin/logout', '/admin/login']) {
        const res = await c.post(path, { email: admin.email, password: admin.password }, { origin });
        expect({ origin, path, status: res.status }).toEqual({ origin, path, status: 403 });
        expect(await res.text()).toContain('Cross-site request refused');
      }
    }
    expect((await runs()).n).toBe(before);
    expect((await c.get('/admin/system')).status).toBe(200); // the session survived the forged logout
  });

  it('after login it goes to the page asked for, and only to a dashboard page', async () => {
    expect(locationOf(await client().login(admin.email, admin.password, '/admin/system/jobs?job=log_cleanup'))).toBe(
      '/admin/system/jobs?job=log_cleanup',
    );
    for (const next of ['//evil.example/admin/', 'https://evil.example/', '/api/users', '/admin\\@evil']) {
      expect(locationOf(await client().login(admin.email, admin.password, next))).toBe('/admin/system');
    }
  });

  it('bad query parameters get a 400 page naming them, never a 500', async () => {
    const c = await signedIn();
    const cases: [string, string][] = [
      ['/admin/system/logs?status=6xx', 'status: a status such as 404 or a class such as 5xx'],
      ['/admin/system/logs?range=2d', 'range'],
      ['/admin/system/logs?limit=7', 'limit: one of 25, 50, 100'],
      ['/admin/system/logs?cursor=not-a-cursor', 'cursor is not one this API issued'],
      ['/admin/system/logs?method=BREW', 'method'],
      ['/admin/system/logs?colour=red', 'Unrecognized key'],
      ['/admin/system/jobs?job=Bad%20Name', 'job: a job name'],
      ['/admin/system/jobs?ran=-1', 'ran'],
      ['/admin/system/errors?range=1y', 'range'],
      ['/admin/system?x=1', 'Unrecognized key'],
      ['/admin/login?reason=whatever', 'reason'],
    ];
    for (const [url, message] of cases) {
      const res = await c.get(url);
      const html = await res.text();
      expect({ url, status: res.status }).toEqual({ url, status: 400 });
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(html, url).toContain(message.replaceAll("'", '&#39;'));
    }
    // Empty form fields mean "no filter", not an error.
    expect((await c.get('/admin/system/logs?status=&method=&path=&range=1h')).status).toBe(200);
  });

  it('pages run under a self-only CSP: no inline script, style or handler; assets are served from the bundle', async () => {
    const c = await signedIn();
    for (const path of [...TABS, '/admin/login']) {
      const res = await c.get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(res.headers.get('content-security-policy')).not.toContain('unsafe-inline');
      expect(res.headers.get('cache-control')).toBe('no-store');
      const html = await res.text();
      expect(html.match(/<script(?![^>]*\ssrc=)[^>]*>/g), path).toBeNull();
      expect(html.match(/\sstyle=|\son[a-z]+=/gi), path).toBeNull();
      for (const asset of html.match(/\/admin\/assets\/[a-z.]+\?v=\w+/g) ?? []) {
        const served = await c.get(asset);
        expect(served.status).toBe(200);
        expect(served.headers.get('cache-control')).toContain('immutable');
      }
    }
    expect((await c.get('/admin/assets/nope.js')).status).toBe(404);
  });

  it('Run now records a manual run and shows it highlighted; an unknown job is a 404 page', async () => {
    const c = await signedIn();
    const res = await c.post('/admin/system/jobs/log_cleanup/run');
    expect(res.status).toBe(303);
    const id = /ran=(\d+)/.exec(locationOf(res))?.[1];
    expect(id).toBeDefined();
    const row = await database.db
      .selectFrom('cron_job_logs')
      .selectAll()
      .where('id', '=', Number(id))
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ job_name: 'log_cleanup', trigger: 'manual', status: 'success' });
    const html = await (await c.get(locationOf(res))).text();
    expect(html).toContain(`data-ran="${id}"`);
    expect(html).toMatch(new RegExp(`<tr data-run-id="${id}" class="hl">`));
    const unknown = await c.post('/admin/system/jobs/no_such_job/run');
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('There is no job named no_such_job');
  });

  it('with the database unreachable the tabs still render: health red, each panel says why', async () => {
    const c = await signedIn();
    expect((await c.get('/admin/system')).status).toBe(200);
    proxy.setMode('refuse');
    try {
      const overview = await c.get('/admin/system');
      expect(overview.status).toBe(200);
      const html = await overview.text();
      expect(html).toMatch(/data-dependency="database" data-status="down"/);
      expect(html).toContain('Could not load request statistics: the database is unavailable');
      expect(html).toContain('checked against your signed session only');
      for (const path of TABS.slice(1)) {
        const res = await c.get(path);
        expect(res.status, path).toBe(200);
        expect(await res.text(), path).toContain('Could not load');
      }
    } finally {
      proxy.setMode('pass');
    }
    expect(await (await c.get('/admin/system')).text()).toMatch(/data-dependency="database" data-status="up"/);
  });
});
