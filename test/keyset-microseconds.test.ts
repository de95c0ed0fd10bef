import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../lib/pagination.ts';
import { appFor } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { loginToken, seedUser } from './support/users.ts';

// `now()` defaults store microseconds; a cursor cut to the millisecond of a JS Date skipped the
// rows sharing the last row's millisecond but a few microseconds older. Each list is paged two
// rows at a time over rows that all fall in one millisecond.
describe.each(databaseKinds())('keyset cursors keep microseconds on %s', (kind) => {
  let database: TestDatabase;
  let harness: ReturnType<typeof appFor>;
  let token: string;
  const SAME_MS = '2026-11-20T10:00:00.123';

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    harness = appFor({ DATABASE_URL: database.url });
    const admin = await seedUser(database.db, 'admin');
    token = await loginToken(harness.app, admin);
  });
  afterAll(async () => {
    await harness?.close();
    await database?.drop();
  });

  async function allPages(path: string): Promise<unknown[]> {
    const ids: unknown[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const separator = path.includes('?') ? '&' : '?';
      const res = await harness.app.request(`${path}${separator}limit=2${cursor ? `&cursor=${cursor}` : ''}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { items: { id: unknown }[]; nextCursor: string | null };
      ids.push(...body.items.map((item) => item.id));
      cursor = body.nextCursor;
      if (!cursor) return ids;
    }
    throw new Error(`${path}: more than 50 pages`);
  }

  it('users created within one millisecond are all listed, once', async () => {
    for (let i = 0; i < 7; i++) await seedUser(database.db, 'agent');
    // 97 µs apart, all inside the millisecond.
    await sql`update users u set created_at = ${`${SAME_MS}000Z`}::timestamptz + make_interval(secs => n.k * 0.000097)
      from (select id, row_number() over (order by id) as k from users) n where n.id = u.id`.execute(database.db);
    const expected = (await database.db.selectFrom('users').select('id').execute()).map((u) => u.id);
    const listed = await allPages('/api/users');
    expect(listed).toHaveLength(expected.length);
    expect(new Set(listed)).toEqual(new Set(expected));
  });

  it('cron runs started within one millisecond are all listed, once', async () => {
    for (let i = 0; i < 9; i++) {
      await database.db
        .insertInto('cron_job_logs')
        .values({
          job_name: 'micro_job',
          status: 'success',
          trigger: 'manual',
          started_at: sql`${`${SAME_MS}${String(100 + i * 97).padStart(3, '0')}Z`}::timestamptz`,
          runtime: 'node',
          holder: 'seed',
        })
        .execute();
    }
    const listed = await allPages('/api/admin/system/cron-logs?job=micro_job');
    expect(listed).toHaveLength(9);
    expect(new Set(listed).size).toBe(9);
  });

  it('request logs written within one millisecond are all listed, once', async () => {
    // An hour ago, inside a partition the migration made.
    const base = new Date(Date.now() - 3_600_000).toISOString().slice(0, 23);
    for (let i = 0; i < 9; i++) {
      await database.db
        .insertInto('request_logs')
        .values({
          created_at: sql`${`${base}${String(900 - i * 101).padStart(3, '0')}Z`}::timestamptz`,
          method: 'GET',
          path: '/api/micro',
          route: '/api/micro',
          status: 200,
          duration_ms: 1,
        })
        .execute();
    }
    const listed = await allPages('/api/admin/system/logs?route=/api/micro');
    expect(listed).toHaveLength(9);
    expect(new Set(listed).size).toBe(9);
  });

  it('accepts a millisecond cursor as issued before, refuses an impossible instant', async () => {
    const get = (cursor: string) =>
      harness.app.request(`/api/admin/system/cron-logs?cursor=${cursor}`, {
        headers: { authorization: `Bearer ${token}` },
      });
    const old = await get(encodeCursor([`${SAME_MS}Z`, 1_000_000]));
    expect(old.status).toBe(200);
    const bad = await get(encodeCursor(['2026-02-30T10:00:00.123456Z', 1]));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
  });
});
