import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeviceApi, startDeviceApi } from './fixtures/device-api.ts';
import { createTestDatabase, databaseKinds, type TestDatabase, withPort } from './support/database.ts';
import { type ServerProcess, startServerProcess } from './support/node-server.ts';
import { waitFor } from './support/processes.ts';
import { startTestS3, type TestS3 } from './support/s3.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';
import { seedUser } from './support/users.ts';

// The server process with every secret set to a known value and LOG_LEVEL=debug (the most it
// ever logs), driven through the flows that handle secrets (logins good and bad, token refresh
// and reuse, password changes and resets, user creation, refused bodies carrying passwords, cron
// triggers, health with storage, a database outage, shutdown). Then everything it logged (stdout,
// stderr, request_logs, cron_job_logs) is searched for each secret.

const marker = (name: string) => `${name}-${randomBytes(12).toString('hex')}`;

describe.each(databaseKinds())('secrets never reach the logs (%s)', (kind) => {
  const secrets = {
    JWT_SECRET: marker('jwt-secret-0123456789'),
    CRON_SECRET: marker('cron-secret'),
    S3_SECRET_ACCESS_KEY: marker('s3-secret'),
    DATABASE_PASSWORD: marker('db-password'),
    USER_PASSWORD: marker('user-password'),
    WRONG_PASSWORD: marker('wrong-password'),
    NEW_PASSWORD: marker('new-password'),
    CREATED_USER_PASSWORD: marker('created-password'),
    RESET_PASSWORD: marker('reset-password'),
    METRICS_TOKEN: marker('metrics-token'),
    ATTENDANCE_API_KEY: marker('attendance-key'),
    BACKUP_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  } as Record<string, string>;
  let database: TestDatabase;
  let s3: TestS3;
  let device: DeviceApi;
  let proxy: TcpProxy;
  let server: ServerProcess;
  let logged = '';

  beforeAll(async () => {
    [database, s3, device] = await Promise.all([
      createTestDatabase(kind),
      startTestS3(),
      startDeviceApi(secrets.ATTENDANCE_API_KEY),
    ]);
    proxy = await startTcpProxy(database.port);
    const url = new URL(withPort(database.url, proxy.port));
    url.password = secrets.DATABASE_PASSWORD as string; // both servers here trust loopback: any password works
    server = await startServerProcess({
      DATABASE_URL: url.toString(),
      JWT_SECRET: secrets.JWT_SECRET,
      CRON_SECRET: secrets.CRON_SECRET,
      ...s3.env,
      S3_SECRET_ACCESS_KEY: secrets.S3_SECRET_ACCESS_KEY,
      METRICS_TOKEN: secrets.METRICS_TOKEN,
      ATTENDANCE_API_URL: device.url,
      ATTENDANCE_API_KEY: secrets.ATTENDANCE_API_KEY,
      BACKUP_ENCRYPTION_KEY: secrets.BACKUP_ENCRYPTION_KEY,
      LOG_LEVEL: 'debug',
      REQUEST_LOG_EXCLUDE: '',
    });
    await driveSecretFlows();
    await server.stop();
    const rows = await sql<{ line: string }>`
      select row_to_json(r)::text as line from request_logs r
      union all select row_to_json(c)::text from cron_job_logs c`.execute(database.db);
    logged = [server.output(), ...rows.rows.map((r) => r.line)].join('\n');
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    await proxy?.close();
    await Promise.all([database?.drop(), s3?.stop(), device?.close()]);
  });

  async function call(path: string, init: { method?: string; token?: string; body?: unknown } = {}) {
    const res = await server.request(path, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined
        ? {}
        : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  }

  async function driveSecretFlows() {
    const user = await seedUser(database.db, 'admin', { password: secrets.USER_PASSWORD });
    const login = await call('/api/auth/login', { body: { email: user.email, password: secrets.USER_PASSWORD } });
    expect(login.status).toBe(200);
    const { accessToken, refreshToken } = login.body as { accessToken: string; refreshToken: string };
    secrets.ACCESS_TOKEN = accessToken;
    secrets.REFRESH_TOKEN = refreshToken;
    const statuses = [
      (await call('/api/auth/login', { body: { email: user.email, password: secrets.WRONG_PASSWORD } })).status,
      (await call('/api/auth/login', { body: { email: secrets.USER_PASSWORD, password: secrets.USER_PASSWORD } }))
        .status,
      (await call('/api/auth/me', { token: accessToken })).status,
      (await call('/api/auth/me', { token: `${accessToken}x` })).status,
      (await call('/api/auth/me', { token: refreshToken })).status,
      (await call('/api/auth/me', { token: secrets.JWT_SECRET })).status,
    ];
    const refreshed = await call('/api/auth/refresh', { body: { refreshToken } });
    secrets.ROTATED_REFRESH_TOKEN = (refreshed.body as { refreshToken: string }).refreshToken;
    statuses.push(
      refreshed.status,
      (await call('/api/auth/refresh', { body: { refreshToken } })).status, // reuse: the family is revoked
      (await call('/api/auth/logout', { body: { refreshToken: secrets.ROTATED_REFRESH_TOKEN } })).status,
    );
    const session = (await call('/api/auth/login', { body: { email: user.email, password: secrets.USER_PASSWORD } }))
      .body as { accessToken: string };
    const token = session.accessToken;
    const created = await call('/api/users', {
      token,
      body: {
        email: `made-${Date.now()}@example.test`,
        name: 'Made',
        role: 'agent',
        password: secrets.CREATED_USER_PASSWORD,
      },
    });
    statuses.push(
      created.status,
      (
        await call(`/api/users/${(created.body as { id: string }).id}/password`, {
          token,
          body: { password: secrets.RESET_PASSWORD },
        })
      ).status,
      // Refused bodies that carry secrets: an unknown field, a password where a name goes, broken JSON.
      (
        await call('/api/auth/login', {
          body: { email: user.email, password: secrets.USER_PASSWORD, extra: secrets.JWT_SECRET },
        })
      ).status,
      (await call('/api/auth/me', { method: 'PATCH', token, body: { name: 5, password: secrets.NEW_PASSWORD } }))
        .status,
      (await call('/api/auth/login', { body: `{"email":"x","password":"${secrets.USER_PASSWORD}"` })).status,
      (
        await call('/api/auth/change-password', {
          token,
          body: { currentPassword: secrets.WRONG_PASSWORD, newPassword: secrets.NEW_PASSWORD },
        })
      ).status,
      (
        await call('/api/auth/change-password', {
          token,
          body: { currentPassword: secrets.USER_PASSWORD, newPassword: secrets.NEW_PASSWORD },
        })
      ).status,
      (await call('/api/cron/cleanup', { method: 'POST', token: secrets.CRON_SECRET })).status,
      (await call('/api/cron/cleanup', { method: 'POST', token: secrets.JWT_SECRET })).status,
      (await call('/api/health')).status,
      // A sync with its API key, an encrypted backup, the metrics endpoint with its token.
      (await call('/api/cron/attendance', { method: 'POST', token: secrets.CRON_SECRET })).status,
      (await call('/api/admin/system/backups', { method: 'POST', token, body: {} })).status,
      (await call('/metrics', { token: secrets.METRICS_TOKEN })).status,
      (await call('/metrics', { token: secrets.CRON_SECRET })).status,
    );
    await waitFor(
      async () => (await database.db.selectFrom('job_locks').select('job_name').execute()).length === 0,
      60_000,
      'the backup to finish',
    );
    // The dashboard's login form: its session cookies carry tokens too.
    const dashboard = await server.request('/admin/login', {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      body: new URLSearchParams({ email: user.email, password: secrets.NEW_PASSWORD as string }).toString(),
    });
    statuses.push(dashboard.status);
    for (const [index, cookie] of dashboard.headers.getSetCookie().entries()) {
      secrets[`DASHBOARD_COOKIE_${index}`] = /^[^=]+=([^;]+)/.exec(cookie)?.[1] ?? cookie;
    }
    statuses.push(
      (
        await server.request('/admin/system', {
          headers: {
            cookie: dashboard.headers
              .getSetCookie()
              .map((c) => c.split(';')[0])
              .join('; '),
          },
        })
      ).status,
    );
    // The database goes away and comes back: connection errors, failed log flushes.
    proxy.setMode('refuse');
    await waitFor(async () => (await call('/api/health')).status === 503, 30_000, 'health 503');
    statuses.push((await call('/api/auth/me', { token })).status);
    await waitFor(
      async () => server.output().includes('request log flush failed'),
      30_000,
      'a failed request-log flush',
    );
    proxy.setMode('pass');
    await waitFor(async () => (await call('/api/health')).status === 200, 30_000, 'health 200');
    // The flows ran as meant (so their logging was exercised), not short-circuited.
    expect(statuses).toEqual([
      401, 400, 200, 401, 401, 401, 200, 401, 204, 201, 204, 400, 400, 400, 400, 204, 200, 401, 200, 200, 202, 200, 401,
      303, 200, 503,
    ]);
  }

  it('logged enough to be worth searching: a line per request, warnings and the request_logs rows', () => {
    expect(logged).toContain('"msg":"request"');
    expect(logged).toContain('request log flush failed');
    expect(logged).toContain('/api/auth/refresh');
  });

  it('no secret appears in anything logged, as it is or URL-encoded', () => {
    const found = Object.entries(secrets).filter(
      ([, value]) => logged.includes(value) || logged.includes(encodeURIComponent(value)),
    );
    expect(found.map(([name]) => name)).toEqual([]);
  });
});
