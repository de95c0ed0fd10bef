import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeviceApi, startDeviceApi } from './fixtures/device-api.ts';
import { TEST_ENV } from './support/app.ts';
import { DashboardClient } from './support/dashboard-client.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { envelopeProblems, readAnswer } from './support/envelope.ts';
import { type FakeTelegram, startFakeTelegram } from './support/fake-telegram.ts';
import { startTestServer } from './support/node-server.ts';
import { waitFor } from './support/processes.ts';
import { parseSamples } from './support/prometheus.ts';
import { startTestS3, type TestS3 } from './support/s3.ts';
import { seedUser } from './support/users.ts';
import { seedMachine, seedTask } from './support/vending.ts';
import { startWorker } from './support/worker.ts';

// Runtime parity: the core route suite. The SAME test bodies run against the Node server
// (functions/node.ts's startNodeServer over real HTTP) and the Worker bundle under workerd
// (wrangler.toml, functions/worker.ts, static assets), each on a fresh database, with the same
// S3 emulator, fake Telegram Bot API and device API. Every route the router serves is requested
// (the last test checks it), so a route that breaks on one runtime only fails here. Where a
// feature is different on Workers by design, the test asserts the documented Workers behaviour.

type RuntimeName = 'node' | 'workerd';

type Runtime = {
  name: RuntimeName;
  url: string;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /**
   * Fires every job of a schedule slot the runtime's way: on Workers the Cron Triggers' events; on
   * Node nothing to do, its in-process scheduler fired SLOT itself before the suite started.
   */
  fireSlot(slot: Date): Promise<void>;
  close(): Promise<void>;
};

const APP_ORIGIN = 'https://app.example.com';
const THROTTLE_LIMIT = 200;
const CRON_SECRET = 'parity-cron-secret-0123456789abc';
const METRICS_TOKEN = 'parity-metrics-token-0123456789a';
const WEBHOOK_SECRET = 'parity-webhook-secret-0123456789';
/** The slot both runtimes' schedules fire in this suite: 03:00 UTC (log_cleanup and the 5- and 15-minute jobs). */
const SLOT = new Date('2030-01-01T03:00:00Z');

/** A real (tiny) PNG: signature, IHDR, IDAT, IEND. */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);

/** The jobs whose schedules include SLOT and that this suite configures (leads_sync has no source here). */
const SLOT_JOBS = ['attendance_sync', 'expired_reservations', 'log_cleanup', 'log_path_index', 'overdue_tasks'];

async function startRuntime(name: RuntimeName, env: Record<string, string>, database: TestDatabase): Promise<Runtime> {
  if (name === 'node') {
    // The in-process scheduler on a test clock: simulated time reaches SLOT a few seconds after
    // start, so the scheduler fires that slot itself, as on a VPS (ENABLE_SCHEDULED_TASKS).
    const clock = `${new Date(SLOT.getTime() - 3_000).toISOString()}@${new Date().toISOString()}*1`;
    const server = await startTestServer({ ...env, ENABLE_SCHEDULED_TASKS: 'true', SCHEDULER_CLOCK: clock });
    // Let the scheduler fire and finish that slot before the suite starts, so its runs hold no
    // job's lease while a test triggers the same job over HTTP.
    await waitFor(
      async () => {
        const runs = await database.db
          .selectFrom('cron_job_logs')
          .select(['job_name', 'status'])
          .where('scheduled_for', '=', SLOT)
          .execute();
        const done = runs.filter((r) => r.status !== 'running').map((r) => r.job_name);
        return SLOT_JOBS.every((job) => done.includes(job)) && runs.every((r) => r.status !== 'running');
      },
      30_000,
      `the scheduler to run the ${SLOT.toISOString()} slot (${SLOT_JOBS.join(', ')})`,
    );
    return {
      name,
      url: server.url,
      fetch: (path, init) => fetch(`${server.url}${path}`, init),
      fireSlot: async () => undefined,
      close: () => server.close(),
    };
  }
  const worker = await startWorker({ ...TEST_ENV, ...env });
  return {
    name,
    url: worker.url,
    fetch: worker.fetch,
    // Cloudflare delivers one event per cron of wrangler.toml's [triggers] that matches the instant.
    fireSlot: async (slot) => {
      for (const cron of ['0 3 * * *', '*/5 * * * *', '*/15 * * * *']) {
        const res = await worker.scheduled(cron, slot);
        if (!res.ok) throw new Error(`scheduled ${cron} answered ${res.status}: ${worker.logs().join('\n')}`);
      }
    },
    close: () => worker.dispose(),
  };
}

/** "METHOD /template" of every route the router serves (middleware and the docs' own list left out). */
async function servedRoutes(): Promise<string[]> {
  const { createApp } = await import('../functions/app.ts');
  const app = createApp({
    acquire: () => {
      throw new Error('not served');
    },
  });
  return [...new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`))];
}

/** Whether a request (method, pathname) is one of a route template's. */
function matches(route: string, method: string, pathname: string): boolean {
  const [routeMethod, template = ''] = route.split(' ');
  if (routeMethod !== method) return false;
  const pattern = template
    .split('/')
    .map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${pattern}$`).test(pathname);
}

const runtimes: RuntimeName[] = ['node', 'workerd'];
const kind = databaseKinds().at(-1) ?? 'pglite';

describe.each(runtimes)(`the core route suite on %s (Postgres ${kind})`, (runtimeName) => {
  let database: TestDatabase;
  let s3: TestS3;
  let telegram: FakeTelegram;
  let device: DeviceApi;
  let rt: Runtime;
  /** "METHOD /path" of every request this suite sent. */
  const requested: { method: string; pathname: string }[] = [];
  let users: {
    admin: Awaited<ReturnType<typeof seedUser>>;
    manager: Awaited<ReturnType<typeof seedUser>>;
    agent: Awaited<ReturnType<typeof seedUser>>;
    operator: Awaited<ReturnType<typeof seedUser>>;
  };
  const tokens = { admin: '', manager: '', agent: '', operator: '' };

  /** fetch on the runtime, recorded for the coverage check. */
  const send = (path: string, init: RequestInit = {}) => {
    requested.push({ method: (init.method ?? 'GET').toUpperCase(), pathname: new URL(path, 'http://x').pathname });
    return rt.fetch(path, init);
  };
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field
  const call = async (token: string | null, method: string, path: string, body?: unknown): Promise<any> => {
    const res = await send(path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };
  const login = async (email: string, password: string) => call(null, 'POST', '/api/auth/login', { email, password });

  beforeAll(async () => {
    [database, s3, telegram, device] = await Promise.all([
      createTestDatabase(kind),
      startTestS3(),
      startFakeTelegram(),
      startDeviceApi(),
    ]);
    device.add(
      { id: 'P1', employee_code: 'E1', employee_name: 'Asha', punch_time: '2026-11-20 09:00:00', direction: 'in' },
      { id: 'P2', employee_code: 'E1', employee_name: 'Asha', punch_time: '2026-11-20 17:30:00', direction: 'out' },
    );
    rt = await startRuntime(
      runtimeName,
      {
        DATABASE_URL: database.url,
        ...s3.env,
        CRON_SECRET,
        METRICS_TOKEN,
        TELEGRAM_BOT_TOKEN: telegram.token,
        TELEGRAM_API_BASE: telegram.apiBase,
        TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
        ATTENDANCE_API_URL: device.url,
        ATTENDANCE_API_KEY: device.apiKey,
        ATTENDANCE_TIMEZONE: 'Asia/Kolkata',
        BACKUP_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
        CORS_ORIGIN: APP_ORIGIN,
        BODY_LIMIT: '1mb',
        // High enough that no user of the suite comes near it but the one the rate-limit test floods.
        THROTTLE_LIMIT: String(THROTTLE_LIMIT),
        THROTTLE_TTL: '60',
      },
      database,
    );
    users = {
      admin: await seedUser(database.db, 'admin', { name: 'Ada Admin' }),
      manager: await seedUser(database.db, 'manager'),
      agent: await seedUser(database.db, 'agent'),
      operator: await seedUser(database.db, 'operator', { name: 'Oleg Operator' }),
    };
    for (const role of ['admin', 'manager', 'agent', 'operator'] as const) {
      const session = await login(users[role].email, users[role].password);
      if (session.status !== 200) throw new Error(`login as ${role}: ${session.status} ${session.text}`);
      tokens[role] = session.body.accessToken;
    }
  });
  afterAll(async () => {
    await rt?.close();
    await Promise.all([database?.drop(), s3?.stop(), telegram?.close(), device?.close()]);
  });

  it('health: 200 with database and storage up, the runtime named, request id and security headers', async () => {
    const r = await call(null, 'GET', '/api/health');
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({
      status: 'ok',
      runtime: runtimeName,
      info: { database: { status: 'up' }, storage: { status: 'up' } },
      error: {},
    });
    expect(r.headers.get('x-request-id')).toMatch(/^[\w-]+$/);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(r.headers.get('x-powered-by')).toBeNull();
  });

  it('the envelope: 404, 405 with Allow, 400 for bad JSON, 401 without a token, 403 for a role', async () => {
    const answers = {
      notFound: await readAnswer(send('/api/no-such-route', { headers: { 'x-request-id': 'parity-404' } })),
      wrongMethod: await readAnswer(send('/api/health', { method: 'DELETE' })),
      badJson: await readAnswer(
        send('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":' }),
      ),
      anonymous: await readAnswer(send('/api/users')),
      forbidden: await readAnswer(send('/api/users', { headers: { authorization: `Bearer ${tokens.operator}` } })),
    };
    expect(answers.notFound.status).toBe(404);
    expect(answers.notFound.headers.get('x-request-id')).toBe('parity-404');
    expect(answers.wrongMethod.status).toBe(405);
    expect(answers.wrongMethod.headers.get('allow')).toContain('GET');
    expect(answers.badJson.status).toBe(400);
    expect(answers.anonymous.status).toBe(401);
    expect(answers.forbidden.status).toBe(403);
    for (const [name, answer] of Object.entries(answers)) expect(envelopeProblems(answer), name).toEqual([]);
    expect(JSON.parse(answers.wrongMethod.text).error.code).toBe('METHOD_NOT_ALLOWED');
    expect(JSON.parse(answers.forbidden.text).error.code).toBe('FORBIDDEN');
  });

  it('middleware: CORS for the configured origin only, 413 over BODY_LIMIT, login throttling in Postgres', async () => {
    const preflight = await send('/api/auth/login', {
      method: 'OPTIONS',
      headers: {
        origin: APP_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    const evil = await send('/api/health', { headers: { origin: 'https://evil.example.com' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();

    const tooLarge = await readAnswer(
      send('/api/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'big@example.test', password: 'x'.repeat(1_200_000) }),
      }),
    );
    expect(tooLarge.status).toBe(413);
    expect(envelopeProblems(tooLarge)).toEqual([]);

    // Failures are rows in Postgres, so the limit holds across replicas and Worker isolates.
    const user = await seedUser(database.db, 'agent');
    for (let i = 0; i < 5; i++) expect((await login(user.email, `wrong-password-${i}`)).status).toBe(401);
    const throttled = await login(user.email, user.password);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(throttled.body.error.code).toBe('RATE_LIMITED');
  });

  it('the API rate limit: counted in memory per user, RateLimit headers, 429 past the limit, synced to Postgres', {
    timeout: 90_000,
  }, async () => {
    const user = await seedUser(database.db, 'agent');
    const token = (await login(user.email, user.password)).body.accessToken;
    const first = await send('/api/auth/me', { headers: { authorization: `Bearer ${token}` } });
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-limit')).toBe(String(THROTTLE_LIMIT));
    const remaining = Number(first.headers.get('ratelimit-remaining'));
    expect(remaining).toBe(THROTTLE_LIMIT - 1);
    // Windows are fixed: a burst that crosses a window boundary gets a fresh window once.
    let refused: Response | undefined;
    for (let i = 0; i < 2 * THROTTLE_LIMIT + 2 && !refused; i += 10) {
      const batch = await Promise.all(
        // An unknown route: counted like any other (the limiter runs before routing) without the
        // database round trip of an authenticated route, so the burst is quick on PGlite too.
        Array.from({ length: 10 }, () =>
          rt.fetch('/api/parity-rate-limit', { headers: { authorization: `Bearer ${token}` } }),
        ),
      );
      refused = batch.find((r) => r.status === 429);
      for (const r of batch) if (r !== refused) await r.arrayBuffer();
      expect(batch.every((r) => r.status === 404 || r.status === 429)).toBe(true);
    }
    expect(refused, 'a 429 within two windows').toBeDefined();
    const answer = await readAnswer(Promise.resolve(refused as Response));
    expect(envelopeProblems(answer)).toEqual([]);
    expect(JSON.parse(answer.text).error.code).toBe('RATE_LIMITED');
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another user is not affected.
    expect((await call(tokens.manager, 'GET', '/api/auth/me')).status).toBe(200);
    // The counts reach Postgres in the background (Node: deferred work; Workers: waitUntil), at
    // most about once a second, started by a request: each poll sends one.
    const synced = await waitFor(
      async () => {
        await (await rt.fetch('/api/parity-rate-limit-sync')).arrayBuffer();
        const rows = await database.db
          .selectFrom('rate_limit_counters')
          .select('count')
          .where('key', '=', `user:${user.id}`)
          .execute();
        const total = rows.reduce((n, r) => n + Number(r.count), 0);
        return total >= THROTTLE_LIMIT && total;
      },
      20_000,
      "the user's count in rate_limit_counters",
    );
    expect(synced).toBeGreaterThanOrEqual(THROTTLE_LIMIT);
  });

  it('auth: login, me, rename, refresh rotation and reuse, change password, logout', async () => {
    const user = await seedUser(database.db, 'manager', { password: 'first-password-123' });
    const wrong = await login(user.email, 'not-the-password');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('UNAUTHORIZED');
    const session = await login(user.email, 'first-password-123');
    expect(session.status, session.text).toBe(200);
    expect(session.body).toMatchObject({ expiresIn: 900, user: { id: user.id, role: 'manager' } });

    const me = await call(session.body.accessToken, 'GET', '/api/auth/me');
    expect(me.body).toMatchObject({ id: user.id, email: user.email });
    const renamed = await call(session.body.accessToken, 'PATCH', '/api/auth/me', { name: 'Renamed Manager' });
    expect(renamed.status).toBe(200);
    const row = await database.db
      .selectFrom('users')
      .select('name')
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(row.name).toBe('Renamed Manager');

    const rotated = await call(null, 'POST', '/api/auth/refresh', { refreshToken: session.body.refreshToken });
    expect(rotated.status, rotated.text).toBe(200);
    expect(rotated.body.refreshToken).not.toBe(session.body.refreshToken);
    // The old token again: reuse, which revokes the whole family (the rotated one too).
    expect((await call(null, 'POST', '/api/auth/refresh', { refreshToken: session.body.refreshToken })).status).toBe(
      401,
    );
    expect((await call(null, 'POST', '/api/auth/refresh', { refreshToken: rotated.body.refreshToken })).status).toBe(
      401,
    );

    const changed = await call(rotated.body.accessToken, 'POST', '/api/auth/change-password', {
      currentPassword: 'first-password-123',
      newPassword: 'second-password-456',
    });
    expect(changed.status, changed.text).toBeLessThan(300);
    expect((await login(user.email, 'first-password-123')).status).toBe(401);
    const again = await login(user.email, 'second-password-456');
    expect(again.status).toBe(200);

    const out = await call(null, 'POST', '/api/auth/logout', { refreshToken: again.body.refreshToken });
    expect(out.status).toBeLessThan(300);
    expect((await call(null, 'POST', '/api/auth/refresh', { refreshToken: again.body.refreshToken })).status).toBe(401);
    const revoked = await database.db
      .selectFrom('refresh_tokens')
      .select('revoked_at')
      .innerJoin('users', 'users.id', 'refresh_tokens.user_id')
      .where('users.id', '=', user.id)
      .execute();
    expect(revoked.length).toBeGreaterThanOrEqual(3);
    expect(revoked.every((t) => t.revoked_at !== null)).toBe(true);
  });

  it('users admin: create, list, get, update, deactivate (token refused at once), reset password', async () => {
    const email = `parity-${runtimeName}@example.test`;
    const created = await call(tokens.admin, 'POST', '/api/users', {
      email,
      name: 'Parity Agent',
      role: 'agent',
      password: 'agent-password-123',
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id;
    expect(
      (
        await call(tokens.admin, 'POST', '/api/users', {
          email,
          name: 'Dup',
          role: 'agent',
          password: 'agent-password-123',
        })
      ).status,
    ).toBe(409);
    const list = await call(tokens.admin, 'GET', '/api/users?limit=100');
    expect(list.body.items.map((u: { email: string }) => u.email)).toContain(email);
    expect((await call(tokens.admin, 'GET', `/api/users/${id}`)).body).toMatchObject({
      id,
      role: 'agent',
      isActive: true,
    });

    const session = await login(email, 'agent-password-123');
    expect((await call(session.body.accessToken, 'GET', '/api/auth/me')).status).toBe(200);
    const updated = await call(tokens.admin, 'PATCH', `/api/users/${id}`, { role: 'manager', isActive: false });
    expect(updated.body).toMatchObject({ role: 'manager', isActive: false });
    expect((await call(session.body.accessToken, 'GET', '/api/auth/me')).status).toBe(401);
    await call(tokens.admin, 'PATCH', `/api/users/${id}`, { isActive: true });

    const reset = await call(tokens.admin, 'POST', `/api/users/${id}/password`, { password: 'reset-password-789' });
    expect(reset.status, reset.text).toBeLessThan(300);
    expect((await login(email, 'agent-password-123')).status).toBe(401);
    expect((await login(email, 'reset-password-789')).body.user).toMatchObject({ id, role: 'manager' });
  });

  it('CRM leads: lists (agents see their own), one lead, an update that reaches the database', async () => {
    const stamps = { created_at: new Date('2026-11-01T00:00:00Z'), updated_at: new Date('2026-11-02T00:00:00Z') };
    const rows = await database.db
      .insertInto('leads')
      .values([
        { external_id: 'PAR-1', name: 'Mine', status: 'new', assigned_to: users.agent.id, ...stamps },
        { external_id: 'PAR-2', name: 'Not mine', status: 'new', assigned_to: users.manager.id, ...stamps },
      ])
      .returning(['id', 'external_id'])
      .execute();
    const mine = rows.find((r) => r.external_id === 'PAR-1')?.id;
    const all = await call(tokens.manager, 'GET', '/api/leads?limit=10');
    expect(all.body.items.map((l: { externalId: string }) => l.externalId).sort()).toEqual(['PAR-1', 'PAR-2']);
    const own = await call(tokens.agent, 'GET', '/api/leads');
    expect(own.body.items.map((l: { externalId: string }) => l.externalId)).toEqual(['PAR-1']);
    const other = rows.find((r) => r.external_id === 'PAR-2')?.id;
    expect((await call(tokens.agent, 'GET', `/api/leads/${other}`)).status).toBe(404);
    expect((await call(tokens.agent, 'GET', `/api/leads/${mine}`)).body).toMatchObject({ id: mine, name: 'Mine' });
    const patched = await call(tokens.agent, 'PATCH', `/api/leads/${mine}`, { status: 'contacted', notes: 'called' });
    expect(patched.status, patched.text).toBe(200);
    const row = await database.db
      .selectFrom('leads')
      .select(['status', 'notes'])
      .where('id', '=', mine as string)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'contacted', notes: 'called' });
  });

  it('attendance: the cron trigger syncs the device log over fetch; list and daily views', async () => {
    expect((await call(null, 'POST', '/api/cron/attendance')).status).toBe(401);
    const run = await call(CRON_SECRET, 'POST', '/api/cron/attendance');
    expect(run.status, run.text).toBe(200);
    expect(run.body).toMatchObject({ jobName: 'attendance_sync', status: 'success', runtime: runtimeName });
    const list = await call(tokens.manager, 'GET', '/api/attendance?employee=E1');
    expect(list.body.items.map((p: { punchedAt: string }) => p.punchedAt).sort()).toEqual([
      '2026-11-20T03:30:00.000Z',
      '2026-11-20T12:00:00.000Z',
    ]);
    const daily = await call(tokens.manager, 'GET', '/api/attendance/daily?date=2026-11-20');
    expect(daily.body).toMatchObject({
      date: '2026-11-20',
      timeZone: 'Asia/Kolkata',
      employees: [{ employeeCode: 'E1', hours: 8.5, punches: 2, missingPunches: 0 }],
    });
    expect((await call(tokens.agent, 'GET', '/api/attendance')).status).toBe(403);
  });

  it('vending: locations, products, machines and the task life cycle with reservations', async () => {
    const location = await call(tokens.manager, 'POST', '/api/locations', { code: 'PAR-LOC', name: 'Parity hall' });
    expect(location.status, location.text).toBe(201);
    expect(
      (await call(tokens.operator, 'GET', '/api/locations')).body.items.map((l: { code: string }) => l.code),
    ).toContain('PAR-LOC');
    const product = await call(tokens.manager, 'POST', '/api/products', {
      sku: 'PAR-COLA',
      name: 'Cola',
      price: '1.50',
    });
    expect(product.status, product.text).toBe(201);
    expect(product.body.price).toBe('1.50');
    expect(
      (await call(tokens.operator, 'GET', '/api/products')).body.items.map((p: { sku: string }) => p.sku),
    ).toContain('PAR-COLA');
    const machine = await call(tokens.manager, 'POST', '/api/machines', {
      code: 'PAR-M1',
      name: 'Parity machine',
      locationId: location.body.id,
    });
    expect(machine.status, machine.text).toBe(201);
    expect(
      (await call(tokens.operator, 'GET', '/api/machines?q=PAR-M')).body.items.map((m: { id: string }) => m.id),
    ).toEqual([machine.body.id]);
    expect((await call(tokens.operator, 'POST', '/api/machines', { code: 'X-1', name: 'nope' })).status).toBe(403);
    const patched = await call(tokens.manager, 'PATCH', `/api/machines/${machine.body.id}`, { status: 'maintenance' });
    expect(patched.body.status).toBe('maintenance');
    expect((await call(tokens.operator, 'GET', `/api/machines/${machine.body.id}`)).body).toMatchObject({
      status: 'maintenance',
      location: { code: 'PAR-LOC' },
    });

    const dueAt = new Date(Date.now() + 3_600_000).toISOString();
    const task = await call(tokens.manager, 'POST', '/api/tasks', {
      machineId: machine.body.id,
      type: 'refill',
      dueAt,
    });
    expect(task.status, task.text).toBe(201);
    expect(task.body.status).toBe('pending');
    const assigned = await call(tokens.manager, 'POST', `/api/tasks/${task.body.id}/assign`, {
      operatorId: users.operator.id,
    });
    expect(assigned.body.status).toBe('assigned');
    const reserved = await call(tokens.manager, 'POST', `/api/tasks/${task.body.id}/reservations`, {
      productId: product.body.id,
      quantity: 12,
    });
    expect(reserved.status, reserved.text).toBe(201);
    const released = await call(tokens.manager, 'POST', `/api/reservations/${reserved.body.id}/release`);
    expect(released.body).toMatchObject({ status: 'released' });
    expect(
      (
        await call(tokens.manager, 'POST', `/api/tasks/${task.body.id}/reservations`, {
          productId: product.body.id,
          quantity: 2,
        })
      ).status,
    ).toBe(201);
    const operatorView = await call(tokens.operator, 'GET', '/api/tasks?status=open');
    expect(operatorView.body.items.map((t: { id: string }) => t.id)).toEqual([task.body.id]);
    const completed = await call(tokens.operator, 'POST', `/api/tasks/${task.body.id}/complete`);
    expect(completed.status, completed.text).toBe(200);
    expect(completed.body).toMatchObject({ task: { status: 'completed', completedBy: users.operator.id } });
    const detail = await call(tokens.manager, 'GET', `/api/tasks/${task.body.id}`);
    expect(detail.body.status).toBe('completed');
    expect(detail.body.reservations.map((r: { status: string }) => r.status).sort()).toEqual(['released', 'released']);

    const other = await call(tokens.manager, 'POST', '/api/tasks', {
      machineId: machine.body.id,
      type: 'maintenance',
      dueAt,
    });
    const cancelled = await call(tokens.manager, 'POST', `/api/tasks/${other.body.id}/cancel`);
    expect(cancelled.body.task.status).toBe('cancelled');
    expect((await call(tokens.operator, 'POST', `/api/tasks/${other.body.id}/complete`)).status).toBe(404);
    const counts = await database.db
      .selectFrom('tasks')
      .select(['status'])
      .where('machine_id', '=', machine.body.id)
      .orderBy('status')
      .execute();
    expect(counts.map((t) => t.status)).toEqual(['cancelled', 'completed']);
  });

  it('ratings: the operator_ratings job run from the admin API scores yesterday; GET /api/ratings', async () => {
    const machine = await seedMachine(database.db);
    const yesterday = new Date(Date.now() - 86_400_000);
    const day = yesterday.toISOString().slice(0, 10);
    await seedTask(database.db, {
      machineId: machine.id,
      assignedTo: users.operator.id,
      status: 'completed',
      dueAt: new Date(`${day}T12:00:00Z`),
      completedAt: new Date(`${day}T11:00:00Z`),
    });
    const run = await call(tokens.admin, 'POST', '/api/admin/system/jobs/operator_ratings/run');
    expect(run.status, run.text).toBe(200);
    expect(run.body).toMatchObject({
      jobName: 'operator_ratings',
      status: 'success',
      trigger: 'manual',
      runtime: runtimeName,
    });
    const ratings = await call(tokens.operator, 'GET', `/api/ratings?period=${day}`);
    expect(ratings.body.items).toEqual([
      expect.objectContaining({ operatorId: users.operator.id, score: '100.00', tasksDone: 1, tasksOnTime: 1 }),
    ]);
  });

  it('uploads: a photo to S3, a redirect to a signed URL serving the same bytes; an executable refused', async () => {
    const machine = await seedMachine(database.db);
    const task = await seedTask(database.db, { machineId: machine.id, assignedTo: users.operator.id });
    const post = (bytes: Buffer, name: string, type: string) => {
      const form = new FormData();
      form.set('taskId', task.id);
      form.set('file', new File([new Uint8Array(bytes)], name, { type }));
      return send('/api/uploads', {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.operator}` },
        body: form,
      });
    };
    const stored = await post(PNG, 'shelf.png', 'image/png');
    const body = await stored.json();
    expect(stored.status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({
      taskId: task.id,
      contentType: 'image/png',
      sizeBytes: PNG.length,
      sha256: createHash('sha256').update(PNG).digest('hex'),
    });
    const download = await send(`/api/uploads/${body.id}`, {
      headers: { authorization: `Bearer ${tokens.operator}` },
      redirect: 'manual',
    });
    expect(download.status).toBe(302);
    const signed = await fetch(download.headers.get('location') as string);
    expect(signed.status).toBe(200);
    expect(Buffer.from(await signed.arrayBuffer()).equals(PNG)).toBe(true);
    const refused = await readAnswer(post(Buffer.from('MZ\x90\x00 not an image', 'latin1'), 'x.exe', 'image/png'));
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    expect(envelopeProblems(refused)).toEqual([]);
    const rows = await database.db.selectFrom('uploads').select('id').where('task_id', '=', task.id).execute();
    expect(rows.map((r) => r.id)).toEqual([body.id]);
  });

  it('Telegram: a link code, the webhook refuses a wrong secret, /start <code> links the chat and replies', async () => {
    const issued = await call(tokens.operator, 'POST', '/api/telegram/link-code');
    expect(issued.status, issued.text).toBe(201);
    const update = (text: string) => JSON.stringify(telegram.message(5151, text));
    const webhook = (secret: string | null, text: string) =>
      send('/api/telegram/webhook', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}),
        },
        body: update(text),
      });
    expect((await webhook(null, '/start')).status).toBe(401);
    expect((await webhook('wrong-secret-0123456789abcdef', '/start')).status).toBe(401);
    const taken = await webhook(WEBHOOK_SECRET, issued.body.command);
    expect(taken.status).toBe(200);
    const reply = await waitFor(
      async () => telegram.sent().find((m) => m.chatId === 5151)?.text,
      15_000,
      'the bot to answer /start',
    );
    expect(reply).toMatch(/^Linked\. Hello, Oleg Operator!/);
    const link = await database.db
      .selectFrom('telegram_links')
      .selectAll()
      .where('user_id', '=', users.operator.id)
      .executeTakeFirst();
    expect(link).toMatchObject({ chat_id: expect.anything() });
    expect(String(link?.chat_id)).toBe('5151');
  });

  it('cron triggers: the HTTP trigger needs the secret and runs the job once per call; unknown jobs 404', async () => {
    expect((await call('not-the-cron-secret-0123456789ab', 'POST', '/api/cron/cleanup')).status).toBe(401);
    expect((await call(CRON_SECRET, 'POST', '/api/cron/no_such_job')).status).toBe(404);
    const run = await call(CRON_SECRET, 'POST', '/api/cron/cleanup');
    expect(run.status, run.text).toBe(200);
    expect(run.body).toMatchObject({
      jobName: 'log_cleanup',
      status: 'success',
      trigger: 'http',
      runtime: runtimeName,
    });
  });

  it(`the schedule: ${runtimeName === 'node' ? 'the in-process scheduler' : 'Cron Triggers'} run each job of a slot once`, async () => {
    await rt.fireSlot(SLOT);
    await rt.fireSlot(SLOT); // a retried delivery (Workers) runs nothing again; Node fires each slot once anyway
    const rows = await waitFor(
      async () => {
        const found = await database.db
          .selectFrom('cron_job_logs')
          .select(['job_name', 'status', 'trigger', 'runtime'])
          .where('scheduled_for', '=', SLOT)
          .orderBy('job_name')
          .execute();
        return found.length >= SLOT_JOBS.length && found.every((r) => r.status !== 'running') ? found : undefined;
      },
      30_000,
      'the scheduled runs of the slot',
    );
    expect(rows).toEqual(
      SLOT_JOBS.map((job) => ({ job_name: job, status: 'success', trigger: 'schedule', runtime: runtimeName })),
    );
  });

  it('admin jobs: the registry with schedules, the recorded runs, a manual run', async () => {
    const jobs = await call(tokens.admin, 'GET', '/api/admin/system/jobs');
    const names = jobs.body.jobs.map((j: { name: string }) => j.name);
    expect(names).toEqual(expect.arrayContaining(['log_cleanup', 'attendance_sync', 'db_backup', 'operator_ratings']));
    const run = await call(tokens.admin, 'POST', '/api/admin/system/jobs/expired_reservations/run');
    expect(run.body).toMatchObject({ jobName: 'expired_reservations', status: 'success', trigger: 'manual' });
    const logs = await call(tokens.admin, 'GET', '/api/admin/system/cron-logs?job=expired_reservations');
    expect(logs.status, logs.text).toBe(200);
    expect(logs.body.items[0]).toMatchObject({ id: run.body.id, status: 'success', runtime: runtimeName });
    expect((await call(tokens.manager, 'POST', '/api/admin/system/jobs/log_cleanup/run')).status).toBe(403);
  });

  it('admin system: request logs (written in the background), errors, stats, active users', async () => {
    expect(
      (await send('/api/parity-missing', { headers: { 'x-request-id': `parity-miss-${runtimeName}` } })).status,
    ).toBe(404);
    // Written in the background: waited for in the database, then read through the API once.
    await waitFor(
      async () =>
        database.db
          .selectFrom('request_logs')
          .select('id')
          .where('request_id', '=', `parity-miss-${runtimeName}`)
          .executeTakeFirst(),
      15_000,
      'the 404 in request_logs',
    );
    const logs = await call(tokens.admin, 'GET', '/api/admin/system/logs?status=404');
    const row = logs.body.items.find((r: { requestId: string }) => r.requestId === `parity-miss-${runtimeName}`);
    expect(row).toMatchObject({ method: 'GET', path: '/api/parity-missing', status: 404, errorCode: 'NOT_FOUND' });
    const errors = await call(tokens.admin, 'GET', '/api/admin/system/errors?include4xx=true');
    expect(errors.body.groups.some((g: { status: number }) => g.status === 404)).toBe(true);
    const stats = await call(tokens.admin, 'GET', '/api/admin/system/stats?window=1h');
    expect(stats.body.buckets.reduce((n: number, b: { requests: number }) => n + b.requests, 0)).toBeGreaterThan(10);
    // The admin's earlier requests were written before the 404 above was.
    const active = (await call(tokens.admin, 'GET', '/api/admin/system/active-users')).body;
    expect(active.users.find((u: { userId: string }) => u.userId === users.admin.id)).toMatchObject({ role: 'admin' });
  });

  it('admin system: health, db, deploy and metrics views (host figures: Node only, by design)', async () => {
    const health = await call(tokens.admin, 'GET', '/api/admin/system/health');
    expect(health.status, health.text).toBe(200);
    expect(health.body.details.database.status).toBe('up');
    const db = await call(tokens.admin, 'GET', '/api/admin/system/db');
    expect(db.body.tables.map((t: { name: string }) => t.name)).toContain('request_logs');
    expect(db.body.sizeBytes).toBeGreaterThan(0);
    const deploy = await call(tokens.admin, 'GET', '/api/admin/system/deploy');
    expect(deploy.body).toMatchObject({ runtime: runtimeName, version: expect.any(String) });
    const metrics = await call(tokens.admin, 'GET', '/api/admin/system/metrics');
    expect(metrics.status, metrics.text).toBe(200);
    const hostFigures = ['cpu', 'memory', 'disk', 'process', 'eventLoop'];
    if (runtimeName === 'node') {
      for (const key of hostFigures) expect(metrics.body[key], key).not.toMatchObject({ available: false });
      expect(metrics.body.cpu).toMatchObject({ available: true });
      expect(db.body.pool).toMatchObject({ max: expect.any(Number) });
      expect(health.body.scheduler).toMatchObject({
        enabled: true,
        by: 'in-process',
        nextRuns: expect.objectContaining({ log_cleanup: expect.any(String) }),
      });
    } else {
      // A Worker runs on Cloudflare's machines: no host figures, no pool (a connection per
      // request); Cron Triggers fire the jobs, and health says so with their next runs.
      for (const key of hostFigures) {
        expect(metrics.body[key], key).toEqual({ available: false, reason: expect.stringContaining('Cloudflare') });
      }
      expect(db.body.pool).toEqual({ available: false, reason: expect.any(String) });
      expect(health.body.scheduler).toMatchObject({
        enabled: true,
        by: 'cron-triggers',
        nextRuns: expect.objectContaining({ log_cleanup: expect.any(String) }),
      });
    }
  });

  it('backups: POST starts one in the background, it lists complete and encrypted, verify re-reads it', {
    timeout: 120_000,
  }, async () => {
    const started = await call(tokens.admin, 'POST', '/api/admin/system/backups');
    expect(started.status, started.text).toBe(202);
    // Waited for in the database, so the admin's polls do not spend its rate limit.
    await waitFor(
      async () => {
        const row = await database.db
          .selectFrom('backups')
          .select('status')
          .where('id', '=', started.body.id)
          .executeTakeFirst();
        return row && row.status !== 'running';
      },
      60_000,
      'the backup to finish',
    );
    const list = await call(tokens.admin, 'GET', '/api/admin/system/backups');
    const item = list.body.items.find((b: { id: string }) => b.id === started.body.id);
    expect(item).toMatchObject({ state: 'complete', encrypted: true, trigger: 'api' });
    const verified = await call(tokens.admin, 'POST', `/api/admin/system/backups/${started.body.id}/verify`);
    expect(verified.body).toMatchObject({ id: started.body.id, ok: true, problems: [] });
  });

  it('GET /metrics: the token is required; request counters, job figures and the runtime label', async () => {
    expect((await send('/metrics')).status).toBe(401);
    const res = await send('/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    const samples = parseSamples(await res.text());
    expect(
      samples.get('opsbase_http_requests_total{method="GET",route="/api/health",status="200"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(samples.get('opsbase_job_last_status{job="log_cleanup",status="success"}')).toBe(1);
    expect(samples.get('opsbase_database_up')).toBe(1);
    expect(
      [...samples.keys()].some((k) => k.startsWith('opsbase_build_info') && k.includes(`runtime="${runtimeName}"`)),
    ).toBe(true);
  });

  it('docs: the OpenAPI document lists every API route; Swagger UI and its files from the bundle', async () => {
    const doc = await call(null, 'GET', '/api/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/health', '/api/tasks/{id}/complete']));
    const page = await send('/api/docs');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('/api/docs/assets/swagger-ui-bundle.js');
    const init = await send('/api/docs/init.js');
    expect(init.status).toBe(200);
    expect(await init.text()).toContain('/api/openapi.json');
    const script = await send('/api/docs/assets/swagger-ui-bundle.js');
    expect(script.status).toBe(200);
    expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    expect((await send('/api/docs/assets/nope.js')).status).toBe(404);
  });

  it('dashboard: login, every page, a job run from the Jobs page, a cross-site POST refused, logout', async () => {
    const client = new DashboardClient(rt.url, (url, init) => {
      const parsed = new URL(url);
      requested.push({ method: (init.method ?? 'GET').toUpperCase(), pathname: parsed.pathname });
      return fetch(url, init);
    });
    expect((await client.get('/admin')).headers.get('location')).toBe('/admin/system');
    expect((await client.get('/admin/system')).headers.get('location')).toMatch(/^\/admin\/login/);
    expect((await client.get('/admin/login')).status).toBe(200);
    expect((await client.login(users.admin.email, users.admin.password)).status).toBe(303);
    const overview = await (await client.get('/admin/system')).text();
    expect(overview).toMatch(/data-dependency="database" data-status="up"/);
    if (runtimeName === 'workerd') expect(overview).toContain('Not available: a Worker runs on Cloudflare machines');
    for (const path of [
      '/admin/system/logs',
      '/admin/system/jobs',
      '/admin/system/database',
      '/admin/system/errors',
      '/admin/system/users',
    ]) {
      const res = await client.get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
    }
    const database_ = await (await client.get('/admin/system/database')).text();
    if (runtimeName === 'workerd') expect(database_).toContain('there is no pool');
    const ran = await client.post('/admin/system/jobs/expired_reservations/run');
    expect(ran.status).toBe(303);
    expect(ran.headers.get('location')).toMatch(/^\/admin\/system\/jobs\?ran=/);
    expect(
      (await client.post('/admin/system/jobs/log_cleanup/run', {}, { origin: 'https://evil.example' })).status,
    ).toBe(403);
    expect((await client.get('/admin/assets/dashboard.js')).status).toBe(200);
    expect((await client.get('/admin/no-such-page')).status).toBe(404);
    expect((await client.post('/admin/logout')).status).toBe(303);
    expect((await client.get('/admin/system')).headers.get('location')).toMatch(/^\/admin\/login/);
  });

  it('covers every route the router serves', async () => {
    const routes = await servedRoutes();
    const hit = new Set<string>();
    for (const { method, pathname } of requested) {
      // The most specific template wins: /admin/* only takes what no other route does.
      const found = routes.filter((r) => matches(r, method, pathname));
      const best = found.find((r) => !r.endsWith('*')) ?? found[0];
      if (best) hit.add(best);
    }
    expect(routes.filter((r) => !hit.has(r))).toEqual([]);
    expect(routes.length).toBeGreaterThan(60);
  });
});
