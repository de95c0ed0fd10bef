import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../lib/auth/password.ts';
import { createUser } from '../../lib/users.ts';
import { TEST_ENV } from '../support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/database.ts';
import { waitFor } from '../support/processes.ts';
import { startTestS3, type TestS3 } from '../support/s3.ts';
import { startWorker, type TestWorker } from '../support/worker.ts';

const CRON_SECRET = 'cron-secret-for-workerd-tests-01';

// Health, its failure modes and a Worker with bad configuration: health.test.ts.
describe.each(databaseKinds())('the Worker under workerd, Postgres %s over TCP', (kind) => {
  let database: TestDatabase;
  let s3: TestS3;
  let worker: TestWorker;

  beforeAll(async () => {
    [database, s3] = await Promise.all([createTestDatabase(kind), startTestS3()]);
    worker = await startWorker({ ...TEST_ENV, DATABASE_URL: database.url, ...s3.env, CRON_SECRET });
  });
  afterAll(async () => {
    await worker?.dispose();
    await Promise.all([database?.drop(), s3?.stop()]);
  });

  it('logs in and answers /api/auth/me against the real database', async () => {
    await createUser(database.db, {
      email: 'worker-admin@example.com',
      name: 'Worker Admin',
      role: 'admin',
      passwordHash: await hashPassword('worker-password-1', { iterations: 1000 }),
    });
    const login = await worker.fetch('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'worker-admin@example.com', password: 'worker-password-1' }),
    });
    expect(login.status).toBe(200);
    const session = await login.json();
    const me = await worker.fetch('/api/auth/me', { headers: { authorization: `Bearer ${session.accessToken}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ email: 'worker-admin@example.com', role: 'admin' });
    const wrong = await worker.fetch('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'worker-admin@example.com', password: 'nope-nope-nope' }),
    });
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error.code).toBe('UNAUTHORIZED');
  });

  it('writes request logs in waitUntil and serves the logs, errors, deploy and metrics views', async () => {
    const login = await worker.fetch('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'worker-admin@example.com', password: 'worker-password-1' }),
    });
    const auth = { authorization: `Bearer ${(await login.json()).accessToken}` };
    expect((await worker.fetch('/api/no-such-thing', { headers: { 'x-request-id': 'workerd-miss' } })).status).toBe(
      404,
    );
    const row = await waitFor(
      async () => {
        const res = await worker.fetch('/api/admin/system/logs?status=404', { headers: auth });
        const page = await res.json();
        return page.items?.find((r: { requestId: string }) => r.requestId === 'workerd-miss');
      },
      10_000,
      'the 404 in the request log',
    );
    expect(row).toMatchObject({ status: 404, errorCode: 'NOT_FOUND', route: null });
    const errors = await (await worker.fetch('/api/admin/system/errors?include4xx=true', { headers: auth })).json();
    expect(errors.groups.some((g: { status: number }) => g.status === 404)).toBe(true);
    expect(await (await worker.fetch('/api/admin/system/deploy', { headers: auth })).json()).toMatchObject({
      runtime: 'workerd',
    });
    const metrics = await (await worker.fetch('/api/admin/system/metrics', { headers: auth })).json();
    expect(metrics.cpu).toMatchObject({ available: false, reason: expect.any(String) });
  });

  it('serves Swagger UI and its files from the bundle', async () => {
    const page = await worker.fetch('/api/docs');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/api/docs/assets/swagger-ui-bundle.js');
    const script = await worker.fetch('/api/docs/assets/swagger-ui-bundle.js');
    expect(script.status).toBe(200);
    expect((await script.text()).length).toBeGreaterThan(100_000);
  });

  it('runs a job through the HTTP trigger and records runtime workerd', async () => {
    const res = await worker.fetch('/api/cron/cleanup', {
      method: 'POST',
      headers: { authorization: `Bearer ${CRON_SECRET}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ jobName: 'log_cleanup', status: 'success', runtime: 'workerd' });
  });

  it('the same scheduled event delivered twice runs the job once', async () => {
    const scheduledTime = new Date('2026-11-24T03:00:00Z');
    expect((await worker.scheduled('0 3 * * *', scheduledTime)).ok).toBe(true);
    expect((await worker.scheduled('0 3 * * *', scheduledTime)).ok).toBe(true);
    const rows = await database.db
      .selectFrom('cron_job_logs')
      .select(['status', 'trigger', 'runtime'])
      .where('job_name', '=', 'log_cleanup')
      .where('scheduled_for', '=', scheduledTime)
      .execute();
    expect(rows).toEqual([{ status: 'success', trigger: 'schedule', runtime: 'workerd' }]);
    const total = await sql<{ n: number }>`select count(*) as n from cron_job_logs where trigger = 'schedule'`.execute(
      database.db,
    );
    expect(total.rows[0]?.n).toBe(1);
  });
});
