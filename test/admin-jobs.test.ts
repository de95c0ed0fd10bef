import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appFor } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { loginToken, seedUser } from './support/users.ts';

describe.each(databaseKinds())('admin jobs API on %s', (kind) => {
  let database: TestDatabase;
  let harness: ReturnType<typeof appFor>;
  let token: string;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
    harness = appFor({ DATABASE_URL: database.url });
    const admin = await seedUser(database.db, 'admin');
    token = await loginToken(harness.app, admin);
    // 30 runs of two jobs, one a minute, newest last; every third an error.
    for (let i = 0; i < 30; i++) {
      await database.db
        .insertInto('cron_job_logs')
        .values({
          job_name: i % 2 === 0 ? 'log_cleanup' : 'other_job',
          status: i % 3 === 0 ? 'error' : 'success',
          trigger: 'schedule',
          started_at: sql`timestamptz '2026-11-20T00:00:00Z' + make_interval(mins => ${i})`,
          finished_at: sql`timestamptz '2026-11-20T00:00:01Z' + make_interval(mins => ${i})`,
          duration_ms: 1000,
          runtime: 'node',
          holder: 'seed',
        })
        .execute();
    }
  });
  afterAll(async () => {
    await harness?.close();
    await database?.drop();
  });

  const get = async (path: string) => {
    const res = await harness.app.request(path, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: await res.json() };
  };

  it('pages through the whole history newest first with a keyset cursor, no row twice', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: { id: number; startedAt: string }[]; nextCursor: string | null } } =
        await get(`/api/admin/system/cron-logs?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((r) => r.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(30);
    expect(new Set(seen).size).toBe(30);
    const first = await get('/api/admin/system/cron-logs?limit=2');
    expect(first.body.items[0].startedAt > first.body.items[1].startedAt).toBe(true);
  });

  it('filters by job, status and time range', async () => {
    const errors = await get('/api/admin/system/cron-logs?job=log_cleanup&status=error&limit=200');
    // i even and i % 3 == 0: 0, 6, 12, 18, 24
    expect(errors.body.items).toHaveLength(5);
    expect(
      errors.body.items.every(
        (r: { jobName: string; status: string }) => r.jobName === 'log_cleanup' && r.status === 'error',
      ),
    ).toBe(true);
    const window = await get('/api/admin/system/cron-logs?from=2026-11-20T00:10:00Z&to=2026-11-20T00:20:00Z&limit=200');
    expect(window.body.items).toHaveLength(10);
  });

  it('refuses bad filters with 400 and the envelope', async () => {
    for (const query of [
      'limit=10000',
      'limit=0',
      'status=exploded',
      'from=2026-11-21T00:00:00Z&to=2026-11-20T00:00:00Z',
      'from=yesterday',
      'cursor=not-a-cursor',
      'job=Bad%20Job',
      'unknown=1',
    ]) {
      const r = await get(`/api/admin/system/cron-logs?${query}`);
      expect(r.status, query).toBe(400);
      expect(r.body.error.code, query).toMatch(/VALIDATION_FAILED|BAD_REQUEST/);
    }
  });

  it('lists every registered job with schedule, last run, next run and late', async () => {
    const { status, body } = await get('/api/admin/system/jobs');
    expect(status).toBe(200);
    const cleanup = body.jobs.find((j: { name: string }) => j.name === 'log_cleanup');
    expect(cleanup).toMatchObject({ schedule: '0 3 * * *', aliases: ['cleanup'], periodMs: 86_400_000 });
    expect(cleanup.lastRun.startedAt).toBe('2026-11-20T00:28:00.000Z');
    expect(new Date(cleanup.nextRunAt).getUTCHours()).toBe(3);
    // Last success on 2026-11-20 and nothing since: more than a day plus grace ago.
    expect(cleanup.late).toBe(true);
  });

  it('runs a job by hand and the run appears in the history as manual', async () => {
    const res = await harness.app.request('/api/admin/system/jobs/log_cleanup/run', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const run = await res.json();
    expect(run).toMatchObject({ jobName: 'log_cleanup', status: 'success', trigger: 'manual' });
    const history = await get('/api/admin/system/cron-logs?job=log_cleanup&limit=1');
    expect(history.body.items[0].id).toBe(run.id);
    const unknown = await harness.app.request('/api/admin/system/jobs/nope/run', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(unknown.status).toBe(404);
  });
});
