import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureRequestLogPartitions,
  indexClosedRequestLogPartitions,
  indexRequestLogPathSearch,
  partialPathIndexName,
  partitionName,
  pathIndexedUntil,
  pathIndexName,
} from '../lib/observability/partitions.ts';
import { RequestLogWriter } from '../lib/observability/request-log-writer.ts';
import { appFor } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { loginToken, seedUser } from './support/users.ts';

describe.each(databaseKinds())('observability API on %s', (kind) => {
  let database: TestDatabase;
  let harness: ReturnType<typeof appFor>;
  let token: string;
  let adminId: string;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    harness = appFor({ DATABASE_URL: database.url, DEPLOY_COMMIT: 'c0ffee1', DEPLOY_TIME: '2026-11-23T08:00:00Z' });
    harness.app.get('/api/test/boom', () => {
      throw new Error('exploded with password=hunter2');
    });
    const admin = await seedUser(database.db, 'admin', { name: 'Olga Ops' });
    adminId = admin.id;
    token = await loginToken(harness.app, admin);
    const auth = { authorization: `Bearer ${token}` };
    // Real traffic: 12 reads of one user, 3 misses, 2 server errors, 1 unauthorized.
    for (let i = 0; i < 12; i++) await harness.app.request(`/api/users/${adminId}`, { headers: auth });
    for (let i = 0; i < 3; i++) await harness.app.request(`/api/nothing-${i}`);
    for (let i = 0; i < 2; i++) await harness.app.request('/api/test/boom', { headers: auth });
    await harness.app.request('/api/users', { headers: { authorization: 'Bearer wrong' } });
    await harness.services.requestLogs.drain(harness.services.db);
  });
  afterAll(async () => {
    await harness?.close();
    await database?.drop();
  });

  const get = async (path: string) => {
    const res = await harness.app.request(path, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: await res.json() };
  };

  it('logs: newest first, filters by status class, exact status, method, path, route and user', async () => {
    const all = await get('/api/admin/system/logs?limit=200');
    expect(all.status).toBe(200);
    expect(all.body.items.length).toBeGreaterThanOrEqual(19);
    const times = all.body.items.map((r: { createdAt: string }) => r.createdAt);
    expect([...times].sort().reverse()).toEqual(times);
    expect((await get('/api/admin/system/logs?status=5xx')).body.items).toHaveLength(2);
    expect((await get('/api/admin/system/logs?status=404')).body.items).toHaveLength(3);
    expect((await get('/api/admin/system/logs?status=401')).body.items).toHaveLength(1);
    expect((await get('/api/admin/system/logs?path=nothing-1')).body.items).toHaveLength(1);
    expect((await get('/api/admin/system/logs?route=%2Fapi%2Fusers%2F%3Aid')).body.items).toHaveLength(12);
    const mine = await get(`/api/admin/system/logs?user_id=${adminId}&method=GET&limit=200`);
    expect(mine.body.items.every((r: { userId: string }) => r.userId === adminId)).toBe(true);
    const boom = (await get('/api/admin/system/logs?status=500')).body.items[0];
    expect(boom).toMatchObject({ route: '/api/test/boom', errorCode: 'INTERNAL' });
    expect(boom.errorMessage).toContain('exploded');
    expect(boom.errorMessage).not.toContain('hunter2');
  });

  it('logs: keyset pages cover everything once, in order', async () => {
    // The paging requests are logged too: look only at what was written before they started.
    await harness.services.requestLogs.drain(harness.services.db);
    const to = encodeURIComponent(new Date().toISOString());
    const ids: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { id: number }[]; nextCursor: string | null } } = await get(
        `/api/admin/system/logs?limit=4&to=${to}${cursor ? `&cursor=${cursor}` : ''}`,
      );
      ids.push(...page.body.items.map((r) => r.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    const all = (await get(`/api/admin/system/logs?limit=200&to=${to}`)).body.items.map((r: { id: number }) => r.id);
    expect(all.length).toBeGreaterThanOrEqual(19);
    expect(ids).toEqual(all);
  });

  it('logs: bad filters are 400 with the envelope', async () => {
    for (const q of [
      'from=2026-11-23T10:00:00Z&to=2026-11-23T09:00:00Z',
      'status=6xx',
      'status=abc',
      'limit=10000',
      'cursor=garbage',
      'user_id=42',
      'method=BREW',
      'extra=1',
    ]) {
      const r = await get(`/api/admin/system/logs?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error.code, q).toMatch(/VALIDATION_FAILED|BAD_REQUEST/);
    }
  });

  it('errors: grouped by route with counts, first/last seen and samples; 4xx on request', async () => {
    const r = await get('/api/admin/system/errors');
    expect(r.status).toBe(200);
    expect(r.body.groups).toEqual([
      expect.objectContaining({
        route: '/api/test/boom',
        status: 500,
        count: 2,
        samples: [expect.stringContaining('exploded')],
      }),
    ]);
    const with4xx = await get('/api/admin/system/errors?include4xx=true');
    const notFound = with4xx.body.groups.find((g: { status: number }) => g.status === 404);
    expect(notFound).toMatchObject({ route: null, count: 3 });
    expect((await get('/api/admin/system/errors?include4xx=maybe')).status).toBe(400);
  });

  it('active-users: who made requests in the last 15 minutes, with role and last path', async () => {
    await harness.services.requestLogs.drain(harness.services.db);
    const res = await harness.app.request('/api/admin/system/active-users', {
      headers: { authorization: `Bearer ${token}`, 'x-request-id': 'active-users-view' },
    });
    const r = { body: await res.json() };
    expect(r.body.users).toEqual([expect.objectContaining({ userId: adminId, name: 'Olga Ops', role: 'admin' })]);
    // The count and the last path agree with the raw rows written before the view was asked.
    const mine = await database.db
      .selectFrom('request_logs')
      .select(['path', 'created_at'])
      .where('user_id', '=', adminId)
      .where('request_id', '<>', 'active-users-view')
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    expect(r.body.users[0].requests).toBe(mine.length);
    expect(r.body.users[0].lastPath).toBe(mine[0]?.path);
    expect(r.body.users[0].lastSeen).toBe(mine[0]?.created_at.toISOString());
  });

  it('stats: per-bucket requests and errors with latency percentiles, from the rollup', async () => {
    const r = await get('/api/admin/system/stats?window=1h');
    expect(r.body.bucketMinutes).toBe(1);
    const total = r.body.buckets.reduce((sum: number, b: { requests: number }) => sum + b.requests, 0);
    expect(total).toBeGreaterThanOrEqual(18);
    expect(r.body.buckets.reduce((sum: number, b: { errors: number }) => sum + b.errors, 0)).toBe(2);
    expect(r.body.buckets.some((b: { p95Ms: number | null }) => typeof b.p95Ms === 'number')).toBe(true);
    expect((await get('/api/admin/system/stats?window=2y')).status).toBe(400);
  });

  it('db, deploy, metrics and health views', async () => {
    const db = await get('/api/admin/system/db');
    expect(db.body.sizeBytes).toBeGreaterThan(0);
    expect(db.body.tables.map((t: { name: string }) => t.name)).toContain('request_logs');
    expect(db.body.tables.length).toBeLessThanOrEqual(10);
    expect(db.body.connections.length).toBeGreaterThan(0);
    expect(db.body.pool).toMatchObject({ max: 4 });
    expect((await get('/api/admin/system/deploy')).body).toMatchObject({
      commit: 'c0ffee1',
      deployedAt: '2026-11-23T08:00:00Z',
      runtime: 'node',
    });
    const metrics = (await get('/api/admin/system/metrics')).body;
    expect(metrics.cpu.percent).toBeGreaterThanOrEqual(0);
    expect(metrics.memory.totalBytes).toBeGreaterThan(0);
    expect(metrics.process.rssBytes).toBeGreaterThan(0);
    expect(typeof metrics.eventLoop.lagP99Ms).toBe('number');
    const health = (await get('/api/admin/system/health')).body;
    expect(health.details.database.status).toBe('up');
    expect(health.requestLogWriter).toMatchObject({ dropped: 0, backlog: expect.any(Number) });
    expect(health.scheduler).toEqual({ enabled: false });
  });

  it('logs: path search matches any part of a path exactly, in indexed past days and today alike', async () => {
    // Two days ago (a closed partition, which gets the trigram index) and now (today's, scanned).
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    await ensureRequestLogPartitions(database.db, twoDaysAgo, 0);
    const writer = new RequestLogWriter();
    for (const [i, path] of ['/api/nothing-31337', '/api/other/31337', '/api/nothing_31337y'].entries()) {
      writer.add({
        createdAt: new Date(twoDaysAgo.getTime() + i),
        method: 'GET',
        path,
        route: null,
        status: 404,
        durationMs: 1,
        userId: null,
        ip: '203.0.113.8',
        requestId: `old-${i}`,
        errorCode: 'NOT_FOUND',
        errorMessage: null,
      });
    }
    await writer.drain(database.db);
    const indexed = await indexClosedRequestLogPartitions(database.db);
    expect(indexed).toContain(partitionName(twoDaysAgo));
    const { rows } = await sql<{ indexname: string }>`
      select indexname from pg_indexes where indexname like 'request_logs_p%_path_trgm_idx'`.execute(database.db);
    const names = rows.map((r) => r.indexname);
    expect(names).toContain(pathIndexName(partitionName(twoDaysAgo)));
    expect(names).not.toContain(pathIndexName(partitionName(new Date())));

    const paths = [
      '/api/nothing-31337',
      '/api/nothing-313370',
      '/api/other/31337',
      '/api/nothing-3133',
      '/api/nothing_31337x',
    ];
    for (const path of paths) await harness.app.request(path);
    await harness.services.requestLogs.drain(harness.services.db);
    const found = async (needle: string) =>
      (await get(`/api/admin/system/logs?limit=200&path=${encodeURIComponent(needle)}`)).body.items
        .map(
          (r: { path: string; createdAt: string }) =>
            `${r.createdAt < new Date(Date.now() - 86_400_000).toISOString() ? 'old' : 'new'} ${r.path}`,
        )
        .sort();
    // The index is asked for the id, the whole string is then checked on what it returns.
    expect(await found('/api/nothing-31337')).toEqual([
      'new /api/nothing-31337',
      'new /api/nothing-313370',
      'old /api/nothing-31337',
    ]);
    expect(await found('31337')).toEqual([
      'new /api/nothing-31337',
      'new /api/nothing-313370',
      'new /api/nothing_31337x',
      'new /api/other/31337',
      'old /api/nothing-31337',
      'old /api/nothing_31337y',
      'old /api/other/31337',
    ]);
    expect(await found('other/3133')).toEqual(['new /api/other/31337', 'old /api/other/31337']);
    // LIKE's wildcards are plain characters in a search.
    expect(await found('nothing_3')).toEqual(['new /api/nothing_31337x', 'old /api/nothing_31337y']);
    expect(await found('%3133')).toEqual([]);
  });

  it("logs: path search reads today's ended quarter-hours from their partial index and the rows since without one, page after page", async () => {
    const DAY = 86_400_000;
    const HOUR = 3_600_000;
    const today = new Date(Math.floor(Date.now() / DAY) * DAY);
    const yesterday = new Date(today.getTime() - DAY);
    const at = (day: Date, ms: number) => new Date(day.getTime() + ms);
    await ensureRequestLogPartitions(database.db, yesterday, 1);
    // Six rows in today's first seconds (before any hour's bound) among 3,000 others, two from
    // requests now.
    const writer = new RequestLogWriter();
    for (let i = 0; i < 3_000; i++) {
      writer.add({
        createdAt: at(today, 10 + i),
        method: 'GET',
        path: `/api/filler/${i}`,
        route: null,
        status: 200,
        durationMs: 1,
        userId: null,
        ip: '203.0.113.9',
        requestId: `filler-${i}`,
        errorCode: null,
        errorMessage: null,
      });
    }
    for (let i = 0; i < 6; i++) {
      writer.add({
        createdAt: at(today, 1 + i),
        method: 'GET',
        path: `/api/hourly-52525/${i}`,
        route: null,
        status: 404,
        durationMs: 1,
        userId: null,
        ip: '203.0.113.9',
        requestId: `hourly-${i}`,
        errorCode: 'NOT_FOUND',
        errorMessage: null,
      });
    }
    await writer.drain(database.db);
    await sql`analyze ${sql.table(partitionName(today))}`.execute(database.db);
    for (let i = 0; i < 2; i++) await harness.app.request(`/api/recent-52525/${i}`);
    await harness.services.requestLogs.drain(harness.services.db);
    const concurrently = kind === 'postgres'; // as the job builds them there
    const indexNames = async () =>
      (
        await sql<{
          indexname: string;
        }>`select indexname from pg_indexes where indexname like 'request_logs_p%'`.execute(database.db)
      ).rows.map((r) => r.indexname);
    const search = async () => {
      const paths: string[] = [];
      let cursor = '';
      for (let pages = 0; pages < 10; pages++) {
        const { body } = await get(`/api/admin/system/logs?limit=3&path=52525${cursor ? `&cursor=${cursor}` : ''}`);
        paths.push(...body.items.map((r: { path: string }) => r.path));
        if (!body.nextCursor) return paths;
        cursor = body.nextCursor;
      }
      throw new Error('more pages than rows');
    };
    const newestFirst = [1, 0]
      .map((i) => `/api/recent-52525/${i}`)
      .concat([5, 4, 3, 2, 1, 0].map((i) => `/api/hourly-52525/${i}`));

    // Yesterday's run at 05:05 left a partial index there; today's at 01:05 supersedes it, as
    // yesterday now has its own full index.
    const early = await indexRequestLogPathSearch(database.db, {
      now: at(yesterday, 5 * HOUR + 300_000),
      concurrently,
    });
    expect(early.partial).toBe(partialPathIndexName(partitionName(yesterday), at(yesterday, 5 * HOUR)));
    const first = await indexRequestLogPathSearch(database.db, { now: at(today, HOUR + 300_000), concurrently });
    expect(first.partial).toBe(`${partitionName(today)}_path_trgm_to_0100`);
    expect(first.dropped).toEqual([early.partial]);
    expect(await indexNames()).toEqual(
      expect.arrayContaining([first.partial, pathIndexName(partitionName(yesterday))]),
    );
    expect(await pathIndexedUntil(database.db)).toEqual(at(today, HOUR));
    // The older statement's bound is the index's own instant, so the planner can use it: among
    // 3,000 other rows of today's first hour it does.
    const plan = (
      await database.db
        .selectFrom('request_logs')
        .selectAll()
        .where('path', 'like', '%52525%')
        .where('created_at', '<', at(today, HOUR))
        .explain()
    )
      .map((r) => Object.values(r).join(' '))
      .join('\n');
    expect(plan).toContain(first.partial);
    expect(await search()).toEqual(newestFirst);

    // A later run's replaces it; the results stay the same.
    const second = await indexRequestLogPathSearch(database.db, { now: at(today, 2 * HOUR + 300_000), concurrently });
    expect(second.dropped).toEqual([first.partial]);
    const names = await indexNames();
    expect(names).toContain(second.partial);
    expect(names).not.toContain(first.partial);
    expect(names).not.toContain(early.partial);
    expect(await search()).toEqual(newestFirst);

    // The job, run as the scheduler runs it, at the real hour.
    const run = await harness.app.request('/api/admin/system/jobs/log_path_index/run', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(run.status).toBe(200);
    expect(await run.json()).toMatchObject({ jobName: 'log_path_index', status: 'success' });
    expect(await search()).toEqual(newestFirst);
  });
});
