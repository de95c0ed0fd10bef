import { Kysely, PostgresDialect, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../lib/config.ts';
import { createDb, createPool } from '../lib/db/connection.ts';
import { logCleanup } from '../lib/jobs/log-cleanup.ts';
import { runJob } from '../lib/jobs/runner.ts';
import { createLogger } from '../lib/logger.ts';
import { ensureRequestLogPartitions, partitionName } from '../lib/observability/partitions.ts';
import { listRequestLogs } from '../lib/observability/queries.ts';
import { COPY_HEADER, COPY_LOGS, COPY_TRAILER, copyBinary } from '../lib/observability/request-log-copy.ts';
import { type RequestLogEntry, RequestLogWriter } from '../lib/observability/request-log-writer.ts';
import type { Database } from '../schema/database.ts';
import { appFor, TEST_ENV } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase, withPort } from './support/database.ts';
import { freePort, spawnProject, waitFor } from './support/processes.ts';
import { startTcpProxy } from './support/tcp-proxy.ts';
import { postJson, seedUser } from './support/users.ts';

const entry = (overrides: Partial<RequestLogEntry> = {}): RequestLogEntry => ({
  createdAt: new Date(),
  method: 'GET',
  path: '/api/things/1',
  route: '/api/things/:id',
  status: 200,
  durationMs: 3.5,
  userId: null,
  ip: '203.0.113.5',
  requestId: 'req-1',
  errorCode: null,
  errorMessage: null,
  ...overrides,
});

describe.each(databaseKinds())('request logging on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await database?.drop();
  });

  const logsFor = (requestId: string) =>
    database.db.selectFrom('request_logs').selectAll().where('request_id', '=', requestId).execute();

  it('writes every /api request after the flush, with route template, user, status and error', async () => {
    const harness = appFor({ DATABASE_URL: database.url });
    try {
      const user = await seedUser(database.db, 'admin');
      const login = await postJson(
        harness.app,
        '/api/auth/login',
        { email: user.email, password: user.password },
        { 'x-request-id': 'log-login' },
      );
      const token = login.body.accessToken;
      await harness.app.request(`/api/users/${user.id}`, {
        headers: { authorization: `Bearer ${token}`, 'x-request-id': 'log-get' },
      });
      await harness.app.request('/api/users', { headers: { authorization: 'Bearer nope', 'x-request-id': 'log-401' } });
      await harness.app.request('/api/nowhere', { headers: { 'x-request-id': 'log-404' } });
      await harness.app.request('/api/health', { headers: { 'x-request-id': 'log-health' } });

      const [got] = await waitFor(
        async () => {
          const rows = await logsFor('log-get');
          return rows.length ? rows : undefined;
        },
        5000,
        'the flushed row',
      );
      expect(got).toMatchObject({
        method: 'GET',
        path: `/api/users/${user.id}`,
        route: '/api/users/:id',
        status: 200,
        user_id: user.id,
        error_code: null,
      });
      expect(got?.duration_ms).toBeGreaterThan(0);
      const [unauthorized] = await waitFor(
        async () => ((await logsFor('log-401')).length ? logsFor('log-401') : undefined),
        5000,
      );
      expect(unauthorized).toMatchObject({
        status: 401,
        route: '/api/users',
        user_id: null,
        error_code: 'UNAUTHORIZED',
      });
      const [notFound] = await waitFor(
        async () => ((await logsFor('log-404')).length ? logsFor('log-404') : undefined),
        5000,
      );
      expect(notFound).toMatchObject({ status: 404, route: null, error_code: 'NOT_FOUND' });
      expect((await logsFor('log-login'))[0]?.route).toBe('/api/auth/login');
      // Excluded by default (REQUEST_LOG_EXCLUDE=/api/health): monitors would drown the log.
      expect(await logsFor('log-health')).toEqual([]);
      // The per-minute rollup counts what was written.
      const rollup = await database.db
        .selectFrom('request_log_minutes')
        .select(['requests', 'errors', 'buckets'])
        .where('route', '=', '/api/users/:id')
        .executeTakeFirstOrThrow();
      expect(rollup.requests).toBe(1);
      expect(rollup.buckets.reduce((a, b) => a + b, 0)).toBe(1);
    } finally {
      await harness.close();
    }
  });

  it('a path search turns parallel workers off for its own statement only', async () => {
    const writer = new RequestLogWriter();
    writer.add(entry({ path: '/api/things/40417', requestId: 'serial-search' }));
    await writer.drain(database.db);
    const sent: string[] = [];
    const pool = createPool(database.url, { max: 1 });
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool }),
      log: (event) => {
        if (event.level === 'query') sent.push(event.query.sql);
      },
    });
    try {
      await sql`set max_parallel_workers_per_gather = 3`.execute(db);
      sent.length = 0;
      const page = await listRequestLogs(db, { pathContains: '/things/40417', limit: 50 });
      expect(page.items.map((r) => r.requestId)).toEqual(['serial-search']);
      // the search's statement, after the setting, in the transaction that scopes it
      const search = sent.findIndex((text) => /from "request_logs"/.test(text) && /like/.test(text));
      expect(search).toBeGreaterThan(0);
      expect(sent.slice(0, search)).toContain('set local max_parallel_workers_per_gather = 0');
      // and the connection, back in the pool, keeps its own
      const { rows } = await sql<{
        value: string;
      }>`select current_setting('max_parallel_workers_per_gather') as value`.execute(db);
      expect(rows).toEqual([{ value: '3' }]);
    } finally {
      await db.destroy();
    }
  });

  it('keyset pages keep rows that share a timestamp: the id breaks the tie', async () => {
    const at = new Date(Date.now() - 3_600_000);
    const writer = new RequestLogWriter();
    for (let i = 0; i < 5; i++) writer.add(entry({ createdAt: at, requestId: `tie-${i}` }));
    await writer.drain(database.db);
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await listRequestLogs(database.db, { from: at, to: new Date(at.getTime() + 1), limit: 2, cursor });
      seen.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);
  });

  it.runIf(kind === 'postgres')(
    'a page of errors from a vacuumed day is read from the error index alone, no row from the heap',
    async () => {
      // migration 0013: the partial 4xx/5xx index carries every column a page shows
      const dayStart = (Math.floor(Date.now() / 86_400_000) - 4) * 86_400_000;
      await ensureRequestLogPartitions(database.db, new Date(dayStart), 0);
      const writer = new RequestLogWriter({ maxBuffered: 2_000 });
      for (let i = 0; i < 2_000; i++) {
        const failed = i % 20 === 0;
        writer.add(
          entry({
            createdAt: new Date(dayStart + 3_600_000 + i * 1000),
            requestId: `vacuumed-${i}`,
            status: failed ? 503 : 200,
            errorCode: failed ? 'UNAVAILABLE' : null,
            errorMessage: failed ? 'upstream down' : null,
          }),
        );
      }
      await writer.drain(database.db);
      // The writer commits without waiting for the disk, and vacuum marks a page all-visible only
      // once its rows' commits are there (autovacuum, later, finds them so): wait for the WAL
      // writer to flush past them.
      const { rows: written } = await sql<{ lsn: string }>`select pg_current_wal_insert_lsn()::text as lsn`.execute(
        database.db,
      );
      await waitFor(
        async () =>
          (
            await sql<{
              flushed: boolean;
            }>`select pg_current_wal_flush_lsn() >= ${written[0]?.lsn}::pg_lsn as flushed`.execute(database.db)
          ).rows[0]?.flushed || undefined,
        5000,
        'the WAL flushed past the logged rows',
      );
      // Vacuum until every page of the day is marked all-visible: a transaction open elsewhere in
      // this database (an autoanalyze the writer's rows set off, under CI's load) holds the
      // horizon back, and a vacuum meanwhile marks nothing (seen once: 50 heap fetches).
      const day = partitionName(new Date(dayStart));
      await waitFor(
        async () => {
          await sql`vacuum (analyze) ${sql.table(day)}`.execute(database.db);
          const { rows } = await sql<{ all_visible: boolean }>`
            select relallvisible >= relpages as all_visible from pg_class where oid = to_regclass(${day})`.execute(
            database.db,
          );
          return rows[0]?.all_visible || undefined;
        },
        15_000,
        `vacuum to mark every page of ${day} all-visible`,
      );
      // The statement listRequestLogs sends, as sent, explained.
      const pool = createPool(database.url, { max: 1 });
      const sent: { sql: string; parameters: readonly unknown[] }[] = [];
      const db = new Kysely<Database>({
        dialect: new PostgresDialect({ pool }),
        log: (event) => {
          if (event.level === 'query') sent.push(event.query);
        },
      });
      try {
        const page = await listRequestLogs(db, {
          to: new Date(dayStart + 86_400_000),
          status: { class: 5 },
          limit: 50,
        });
        expect(page.items).toHaveLength(50);
        expect(page.items.every((r) => r.status === 503 && r.errorMessage === 'upstream down')).toBe(true);
        expect(sent).toHaveLength(1);
        const query = sent[0] as (typeof sent)[number];
        const { rows } = await pool.query(`explain (analyze, format json) ${query.sql}`, [...query.parameters]);
        const scans: { 'Node Type': string; 'Index Name'?: string; 'Heap Fetches'?: number; 'Actual Loops': number }[] =
          [];
        const walk = (node: Record<string, unknown>) => {
          if (typeof node['Relation Name'] === 'string' && node['Actual Loops'] !== 0) scans.push(node as never);
          for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
        };
        walk(rows[0]['QUERY PLAN'][0].Plan);
        expect(scans).toHaveLength(1);
        expect(scans[0]).toMatchObject({ 'Node Type': 'Index Only Scan', 'Heap Fetches': 0 });
        expect(scans[0]?.['Index Name']).toMatch(/created_at_id_status/);
      } finally {
        await db.destroy();
      }
    },
  );

  it('pages through rows spread over weeks, every row once and newest first, however sparse the filter', async () => {
    // listRequestLogs asks the newest two days first and the whole range when they fall short:
    // rows on either side of that bound, under a filter that leaves a few rows a week.
    const day = 86_400_000;
    const now = Date.now();
    await ensureRequestLogPartitions(database.db, new Date(now - 40 * day), 0);
    const writer = new RequestLogWriter();
    const ages = [0.1, 0.9, 1.2, 2.5, 6, 8.9, 9.2, 12, 20, 39];
    for (const [i, age] of ages.entries()) {
      const createdAt = new Date(now - age * day);
      writer.add(entry({ createdAt, route: '/api/sparse/:id', requestId: `sparse-${i}` }));
      writer.add(entry({ createdAt, requestId: `dense-${i}` })); // filtered out below
    }
    await writer.drain(database.db);
    const expected = ages.map((_, i) => `sparse-${i}`);
    for (const limit of [1, 3, 50]) {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await listRequestLogs(database.db, { route: '/api/sparse/:id', limit, cursor });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        seen.push(...page.items.map((r) => r.requestId ?? ''));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toEqual(expected);
    }
    // A `to` weeks back and a `from` between the windows' bounds.
    const page = await listRequestLogs(database.db, {
      route: '/api/sparse/:id',
      from: new Date(now - 10 * day),
      to: new Date(now - 2 * day),
      limit: 50,
    });
    expect(page.items.map((r) => r.requestId)).toEqual(['sparse-3', 'sparse-4', 'sparse-5', 'sparse-6']);
  });

  it('tells its owner when a batch is waiting, once per batch', async () => {
    let ready = 0;
    const writer = new RequestLogWriter({ flushAt: 3, onBatchReady: () => ready++ });
    for (let i = 0; i < 4; i++) writer.add(entry({ requestId: `ready-${i}` }));
    expect(ready).toBe(1);
    await writer.flush(database.db);
    for (let i = 0; i < 3; i++) writer.add(entry({ requestId: `ready-again-${i}` }));
    expect(ready).toBe(2);
    await writer.drain(database.db);
  });

  it('a row with text Postgres cannot store (NUL, a lone surrogate) is written with U+FFFD, not stuck', async () => {
    const writer = new RequestLogWriter();
    writer.add(entry({ requestId: 'unstorable', path: '/api/x\ud800y', errorMessage: 'bad \u0000 byte \udc00' }));
    writer.add(entry({ requestId: 'beside-unstorable' }));
    await writer.flush(database.db);
    expect(writer.stats()).toMatchObject({ backlog: 0, lastError: null });
    const [row] = await logsFor('unstorable');
    expect(row).toMatchObject({ path: '/api/x\ufffdy', error_message: 'bad \ufffd byte \ufffd' });
    expect(await logsFor('beside-unstorable')).toHaveLength(1);
  });

  it("keeps every character of its text fields (what COPY's text format would escape included) and each field apart", async () => {
    const writer = new RequestLogWriter();
    const awkward = 'tab\there\nnew line\r\\N \\. back\\slash "q" é 😀 \x01';
    // to the millisecond, 7 ms past a whole second an hour ago
    const createdAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000 + 7);
    writer.add(
      entry({
        createdAt,
        requestId: 'awkward-text',
        path: `/api/${awkward}`,
        route: null,
        userId: '6cf763a0-9379-4ec8-a7d3-c4d8ec653fda',
        ip: null,
        status: 418,
        durationMs: 0.01,
        errorCode: '\\.',
        errorMessage: awkward,
      }),
    );
    writer.add(entry({ requestId: '\\N' }));
    await writer.flush(database.db);
    expect(writer.stats()).toMatchObject({ backlog: 0, lastError: null });
    const [row] = await logsFor('awkward-text');
    expect(row).toMatchObject({
      created_at: createdAt,
      path: `/api/${awkward}`,
      route: null,
      user_id: '6cf763a0-9379-4ec8-a7d3-c4d8ec653fda',
      ip: null,
      status: 418,
      error_code: '\\.',
      error_message: awkward,
    });
    expect(row?.duration_ms).toBeCloseTo(0.01, 5);
    // a request id that reads like COPY's NULL marker stays a string
    expect(await logsFor('\\N')).toHaveLength(1);
  });

  it('a user id that is not a UUID is written as none, the row and its batch kept', async () => {
    const writer = new RequestLogWriter();
    writer.add(entry({ requestId: 'not-a-uuid-user', userId: 'admin' }));
    writer.add(entry({ requestId: 'uuid-user', userId: '6CF763A09379-4ec8-a7d3-c4d8ec653fda' }));
    await writer.flush(database.db);
    expect(writer.stats()).toMatchObject({ backlog: 0, lastError: null });
    expect((await logsFor('not-a-uuid-user'))[0]?.user_id).toBeNull();
    expect((await logsFor('uuid-user'))[0]?.user_id).toBe('6cf763a0-9379-4ec8-a7d3-c4d8ec653fda');
  });

  it.runIf(kind === 'postgres')(
    "COPY's binary rows read back as written: times from 1970 to 2300, every kind of text, NULLs, numbers",
    async () => {
      // a table of request_logs' columns, unpartitioned, so any time fits
      const awkward = 'tab\there\nnew line\r\\N \\. back\\slash "q" é 😀 \x01';
      const rows = [
        '1970-01-01T00:00:00.000Z',
        '1999-12-31T23:59:59.999Z',
        '2000-01-01T00:00:00.001Z',
        '2026-11-28T15:04:05.678Z',
        '2300-06-01T12:00:00.123Z',
      ].map((iso, i) =>
        entry({
          createdAt: new Date(iso),
          method: i % 2 ? 'DELETE' : 'GET',
          path: `/api/${awkward}/${i}`,
          route: i === 0 ? null : '/api/x/:id',
          status: 200 + i * 100,
          durationMs: i === 4 ? 0.25 : i * 1234.5, // exact in a float4
          userId: i % 2 ? null : '6cf763a0-9379-4ec8-a7d3-c4d8ec653fda',
          ip: i === 1 ? null : '2001:db8::1',
          requestId: `copy-${i}`,
          errorCode: i === 3 ? '\\.' : null,
          errorMessage: i === 3 ? awkward : null,
        }),
      );
      const pool = createPool(database.url, { max: 1 });
      const client = await pool.connect();
      try {
        await client.query('create temporary table copy_check (like request_logs including defaults)');
        const { from } = await import('pg-copy-streams');
        const copy = COPY_LOGS.replace('copy request_logs', 'copy copy_check');
        const stream = client.query(from(copy));
        const done = new Promise((resolve, reject) => stream.on('finish', resolve).on('error', reject));
        stream.write(COPY_HEADER);
        stream.write(copyBinary(rows.slice(0, 2)));
        stream.write(copyBinary(rows.slice(2)));
        stream.end(COPY_TRAILER);
        await done;
        const { rows: stored } = await client.query(
          `select created_at, method, path, route, status, duration_ms, user_id, ip, request_id, error_code, error_message
           from copy_check order by request_id`,
        );
        expect(stored).toEqual(
          rows.map((e) => ({
            created_at: e.createdAt,
            method: e.method,
            path: e.path,
            route: e.route,
            status: e.status,
            duration_ms: e.durationMs,
            user_id: e.userId,
            ip: e.ip,
            request_id: e.requestId,
            error_code: e.errorCode,
            error_message: e.errorMessage,
          })),
        );
      } finally {
        client.release();
        await pool.end();
      }
    },
  );

  it('creates a missing day partition instead of failing the insert', async () => {
    const writer = new RequestLogWriter();
    const farAhead = new Date(Date.now() + 20 * 86_400_000);
    writer.add(entry({ createdAt: farAhead, requestId: 'future-row' }));
    await writer.flush(database.db);
    expect(await logsFor('future-row')).toHaveLength(1);
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from pg_class where relname = ${partitionName(farAhead)}`.execute(database.db);
    expect(rows[0]?.n).toBe(1);
  });

  it('a batch refused in the middle (a day without a partition) is written whole, once, rollups included', async () => {
    // 1,500 rows go out as several COPY chunks on PostgreSQL; the one row of a day 25 days ahead,
    // mid-batch, makes the server refuse the COPY after the chunks before it were sent.
    const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    const minute = new Date(today + 7 * 60_000);
    const farAhead = new Date(today + 25 * 86_400_000 + 60_000);
    const writer = new RequestLogWriter();
    for (let i = 0; i < 1_500; i++) {
      const createdAt = i === 1_100 ? farAhead : new Date(minute.getTime() + (i % 60_000));
      writer.add(entry({ createdAt, requestId: `midway-${i}`, route: '/api/midway/:id' }));
    }
    await writer.drain(database.db);
    expect(writer.stats()).toMatchObject({ backlog: 0, dropped: 0, lastError: null });
    const { rows } = await sql<{ rows: number; distinct: number }>`
      select count(*)::int as rows, count(distinct request_id)::int as distinct
      from request_logs where request_id like 'midway-%'`.execute(database.db);
    expect(rows[0]).toEqual({ rows: 1_500, distinct: 1_500 });
    // The rollups count what was written: once, not once per attempt.
    const rollup = await database.db
      .selectFrom('request_log_minutes')
      .select(['minute', 'requests'])
      .where('route', '=', '/api/midway/:id')
      .orderBy('minute')
      .execute();
    expect(rollup.map((r) => [new Date(r.minute).toISOString(), r.requests])).toEqual([
      [minute.toISOString(), 1_499],
      [farAhead.toISOString(), 1],
    ]);
  });

  // A backlog of 2,000 rows or more goes in over two connections (COPY: PostgreSQL), half each.
  const BACKLOG_ROUTES = 10;
  const backlogEntries = (tag: string, minute: Date, count: number) => {
    const half = count / 2;
    const perRoute = half / BACKLOG_ROUTES;
    return Array.from({ length: count }, (_, i) => {
      // the halves meet the same rollup keys in opposite orders: locked in the order met, the
      // two transactions' upserts would deadlock
      const n = i < half ? Math.floor(i / perRoute) : BACKLOG_ROUTES - 1 - Math.floor((i - half) / perRoute);
      return entry({
        createdAt: new Date(minute.getTime() + (i % 50) * 1000),
        requestId: `${tag}-${i}`,
        route: `/api/${tag}/${n}`,
        status: i % 10 === 0 ? 500 : 200,
        errorCode: i % 10 === 0 ? 'INTERNAL' : null,
        errorMessage: i % 10 === 0 ? 'boom' : null,
      });
    });
  };
  /** What backlogEntries(tag, _, 4_000) adds up to: 400 requests a route, 40 of them 500s. */
  const backlogRollups = (tag: string) => {
    const routes = Array.from({ length: BACKLOG_ROUTES }, (_, n) => `/api/${tag}/${n}`).sort();
    return {
      written: { rows: 4_000, distinct: 4_000 },
      minutes: routes.map((route) => ({ route, requests: 400, errors: 40 })),
      errorHours: routes.map((route) => ({ route, count: 40 })),
    };
  };
  const rollupsOf = async (tag: string) => {
    const minutes = await database.db
      .selectFrom('request_log_minutes')
      .select(['route', 'requests', 'errors'])
      .where('route', 'like', `/api/${tag}/%`)
      .orderBy('route')
      .execute();
    const errorHours = await database.db
      .selectFrom('request_log_error_hours')
      .select(['route', 'count'])
      .where('route', 'like', `/api/${tag}/%`)
      .orderBy('route')
      .execute();
    const { rows } = await sql<{ rows: number; distinct: number }>`
      select count(*)::int as rows, count(distinct request_id)::int as distinct
      from request_logs where request_id like ${`${tag}-%`}`.execute(database.db);
    return { written: rows[0], minutes, errorHours };
  };

  it('a backlog goes in over two connections at once: every row once, the rollups counting each once', async () => {
    const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    const minute = new Date(today + 9 * 60_000);
    const pool = createPool(database.url, { max: 4 });
    const db = createDb(pool);
    try {
      for (let round = 0; round < 5; round++) {
        const writer = new RequestLogWriter({ maxBuffered: 4_000 });
        for (const e of backlogEntries(`backlog${round}`, minute, 4_000)) writer.add(e);
        await writer.drain(db);
        expect(writer.stats()).toMatchObject({ backlog: 0, dropped: 0, written: 4_000, lastError: null });
        expect(await rollupsOf(`backlog${round}`)).toEqual(backlogRollups(`backlog${round}`));
      }
      // Two connections were opened where COPY is spoken; the embedded database gets one statement.
      expect(pool.totalCount).toBe(kind === 'postgres' ? 2 : 1);
    } finally {
      await db.destroy();
    }
  });

  it('over COPY a flush takes up to two batches, one a half; a single statement takes one', async () => {
    const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    const db = createDb(createPool(database.url, { max: 4 }));
    try {
      const writer = new RequestLogWriter({ maxBatch: 2_000, maxBuffered: 4_000 });
      for (const e of backlogEntries('twice', new Date(today + 11 * 60_000), 4_000)) writer.add(e);
      await writer.flush(db);
      const once = kind === 'postgres' ? 4_000 : 2_000;
      expect(writer.stats()).toMatchObject({ backlog: 4_000 - once, written: once, lastError: null });
      await writer.drain(db);
      expect(await rollupsOf('twice')).toEqual(backlogRollups('twice'));
    } finally {
      await db.destroy();
    }
  });

  it.runIf(kind === 'postgres')(
    'over COPY a flush commits without waiting for its WAL to reach disk, in its own transaction only',
    async () => {
      // A statement trigger notes the setting each COPY ran under; the pool's next query shows
      // the connection back at the server's default.
      await sql`create table commit_seen (setting text not null)`.execute(database.db);
      await sql`create function note_commit_setting() returns trigger language plpgsql as $$
        begin insert into commit_seen values (current_setting('synchronous_commit')); return null; end $$`.execute(
        database.db,
      );
      await sql`create trigger note_commit_setting after insert on request_logs
        for each statement execute function note_commit_setting()`.execute(database.db);
      const db = createDb(createPool(database.url, { max: 1 }));
      try {
        const writer = new RequestLogWriter();
        writer.add(entry({ requestId: 'async-commit' }));
        await writer.flush(db);
        expect(writer.stats()).toMatchObject({ written: 1, lastError: null });
        const seen = await sql<{ setting: string }>`select setting from commit_seen`.execute(database.db);
        expect(seen.rows).toEqual([{ setting: 'off' }]);
        const after = await sql<{ setting: string }>`select current_setting('synchronous_commit') as setting`.execute(
          db,
        );
        expect(after.rows).toEqual([{ setting: 'on' }]);
        expect(await logsFor('async-commit')).toHaveLength(1);
      } finally {
        await db.destroy();
        await sql`drop trigger note_commit_setting on request_logs`.execute(database.db);
        await sql`drop function note_commit_setting()`.execute(database.db);
        await sql`drop table commit_seen`.execute(database.db);
      }
    },
  );

  it.runIf(kind === 'postgres')(
    'the halves of a backlog wait for each other on the rollup rows they share, and never deadlock',
    async () => {
      // Another session holds the daily error rows of the first and the last route. The halves,
      // each in its transaction, queue on them; released together, a half locking rows in the
      // order it met them would take route 0 and the other route 9, then each wait for the other.
      const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
      const minute = new Date(today + 13 * 60_000);
      const held = ['/api/locked/0', `/api/locked/${BACKLOG_ROUTES - 1}`];
      for (const route of held) {
        await sql`insert into request_log_error_days (day, method, route, status, count, first_seen, last_seen, samples)
          values (${new Date(today)}, 'GET', ${route}, 500, 0, ${minute}, ${minute}, '{}')`.execute(database.db);
      }
      const locker = createPool(database.url, { max: 1 });
      const holder = await locker.connect();
      const db = createDb(createPool(database.url, { max: 4 }));
      try {
        await holder.query('begin');
        await holder.query('select 1 from request_log_error_days where route = any($1) for update', [held]);
        const writer = new RequestLogWriter({ maxBuffered: 4_000 });
        for (const e of backlogEntries('locked', minute, 4_000)) writer.add(e);
        const drained = writer.drain(db);
        await waitFor(async () => {
          const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'`.execute(database.db);
          return (rows[0]?.n ?? 0) >= 2;
        });
        await holder.query('commit');
        await drained;
        expect(writer.stats()).toMatchObject({ backlog: 0, written: 4_000, lastError: null });
        expect(await rollupsOf('locked')).toEqual(backlogRollups('locked'));
      } finally {
        holder.release();
        await locker.end();
        await db.destroy();
      }
    },
  );

  it.runIf(kind === 'postgres')(
    'a backlog whose second half is refused keeps that half only, and writes it once when it can',
    async () => {
      const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
      const minute = new Date(today + 11 * 60_000);
      const rows = backlogEntries('refused', minute, 4_000);
      rows[3_000] = { ...(rows[3_000] as RequestLogEntry), path: '/api/poison' };
      await sql`alter table request_logs add constraint request_logs_no_poison check (path <> '/api/poison')`.execute(
        database.db,
      );
      const writer = new RequestLogWriter({ maxBuffered: 4_000 });
      try {
        for (const e of rows) writer.add(e);
        await expect(writer.flush(database.db)).rejects.toMatchObject({ code: '23514' });
        expect(writer.stats()).toMatchObject({ backlog: 2_000, written: 2_000, dropped: 0 });
        expect(writer.stats().lastError).toContain('request_logs_no_poison');
        expect((await rollupsOf('refused')).written).toEqual({ rows: 2_000, distinct: 2_000 });
      } finally {
        await sql`alter table request_logs drop constraint request_logs_no_poison`.execute(database.db);
      }
      await writer.drain(database.db);
      expect(writer.stats()).toMatchObject({ backlog: 0, written: 4_000, lastError: null });
      expect(await rollupsOf('refused')).toEqual(backlogRollups('refused'));
    },
  );

  it('keeps the newest rows within its bound while the database is down, counts drops, and resumes', async () => {
    const proxy = await startTcpProxy(database.port);
    const db = createDb(createPool(withPort(database.url, proxy.port), { max: 1, connectTimeoutMs: 500 }));
    try {
      const writer = new RequestLogWriter({ maxBatch: 100, maxBuffered: 5 });
      proxy.setMode('refuse');
      for (let i = 0; i < 8; i++) writer.add(entry({ requestId: `outage-${i}` }));
      await expect(writer.flush(db)).rejects.toThrow();
      expect(writer.stats()).toMatchObject({ backlog: 5, dropped: 3 });
      expect(writer.stats().lastError).toBeTruthy();
      proxy.setMode('pass');
      await writer.drain(db);
      expect(writer.stats()).toMatchObject({ backlog: 0, dropped: 3, written: 5, lastError: null });
      const kept = await database.db
        .selectFrom('request_logs')
        .select('request_id')
        .where('request_id', 'like', 'outage-%')
        .orderBy('request_id')
        .execute();
      expect(kept.map((r) => r.request_id)).toEqual(['outage-3', 'outage-4', 'outage-5', 'outage-6', 'outage-7']);
    } finally {
      await db.destroy();
      await proxy.close();
    }
  });

  it.runIf(kind === 'postgres')(
    "the pool's query timeout holds a named statement (the writer's rollups) as it does a text query",
    async () => {
      const pool = createPool(database.url, { max: 1, queryTimeoutMs: 500 });
      try {
        const started = Date.now();
        const client = await pool.connect();
        const failure = await client.query({ name: 'sleeps', text: 'select pg_sleep(5)' }).catch((e: Error) => e);
        expect(failure).toBeInstanceOf(Error);
        expect((failure as Error).message).toBe('Query read timeout');
        expect(Date.now() - started).toBeLessThan(4_000);
        // Released as the writer releases a connection it cannot trust: the next one answers at once.
        client.release(failure as Error);
        const next = await pool.connect();
        const { rows } = await next.query({ name: 'answers', text: 'select 1 as one' });
        next.release();
        expect(rows).toEqual([{ one: 1 }]);
        expect(Date.now() - started).toBeLessThan(4_000);
      } finally {
        await pool.end();
      }
    },
  );

  it.runIf(kind === 'postgres')(
    "the pool's query timeout holds pool.query() too (pg-pool passes the client a callback)",
    async () => {
      const pool = createPool(database.url, { max: 1, queryTimeoutMs: 500 });
      try {
        const started = Date.now();
        const failure = await pool.query('select pg_sleep(5)').catch((e: Error) => e);
        expect(failure).toBeInstanceOf(Error);
        expect((failure as Error).message).toBe('Query read timeout');
        expect(Date.now() - started).toBeLessThan(4_000);
        // the connection it fired on was dropped: the next query gets a fresh one and answers at once
        const { rows } = await pool.query('select $1::int as one', [1]);
        expect(rows).toEqual([{ one: 1 }]);
        expect(Date.now() - started).toBeLessThan(4_000);
      } finally {
        await pool.end();
      }
    },
  );

  it.runIf(kind === 'postgres')(
    'a flush whose COPY gets no answer fails within the query timeout, keeps its rows, and writes them later',
    async () => {
      // The COPY path (real PostgreSQL) is a stream, which the pool's query timeout does not cover.
      // A session holding the table's lock keeps the server silent, as a dropped network would.
      const db = createDb(createPool(database.url, { max: 1, queryTimeoutMs: 1_000 }));
      const locker = createDb(createPool(database.url, { max: 1 }));
      const writer = new RequestLogWriter();
      try {
        let release: () => void = () => {};
        const held = new Promise<void>((resolve) => {
          release = resolve;
        });
        let locked: () => void = () => {};
        const lockTaken = new Promise<void>((resolve) => {
          locked = resolve;
        });
        const lock = locker.transaction().execute(async (trx) => {
          await sql`lock table request_logs in access exclusive mode`.execute(trx);
          locked();
          await held;
        });
        await lockTaken;
        // A few rows fit the COPY stream's buffer; 1,200 go in chunks, the first of which waits for
        // the socket to take it: both waits end at the limit.
        for (const [n, rows] of [3, 1_200].entries()) {
          for (let i = 0; i < rows; i++) writer.add(entry({ requestId: `silent-${n}-${i}` }));
          const started = Date.now();
          await expect(writer.flush(db)).rejects.toThrow(/no answer within 1000 ms|Query read timeout/);
          // Within the limit (and its connection's replacement), not when TCP would give up.
          expect(Date.now() - started).toBeLessThan(10_000);
          expect(writer.stats()).toMatchObject({ backlog: n === 0 ? 3 : 1_203, dropped: 0 });
        }
        release();
        await lock;
        await writer.drain(db);
        expect(writer.stats()).toMatchObject({ backlog: 0, lastError: null });
        const written = await database.db
          .selectFrom('request_logs')
          .select('request_id')
          .where('request_id', 'like', 'silent-%')
          .execute();
        expect(written).toHaveLength(1_203);
      } finally {
        await locker.destroy();
        await db.destroy();
      }
    },
  );

  it('API requests still succeed while the log cannot be written', async () => {
    const proxy = await startTcpProxy(database.port);
    const harness = appFor({ DATABASE_URL: withPort(database.url, proxy.port) });
    try {
      proxy.setMode('refuse');
      const res = await harness.app.request('/api/nowhere');
      expect(res.status).toBe(404); // answered; the row waits in the buffer
      await harness.services.requestLogs.flush(harness.services.db).catch(() => {});
      expect(harness.services.requestLogs.stats().backlog).toBeGreaterThan(0);
    } finally {
      proxy.setMode('pass');
      await harness.close();
      await proxy.close();
    }
  });

  it('log_cleanup drops whole partitions past retention and keeps today', async () => {
    const old = new Date(Date.now() - 10 * 86_400_000);
    await ensureRequestLogPartitions(database.db, old, 0);
    const writer = new RequestLogWriter();
    writer.add(entry({ createdAt: old, requestId: 'ten-days-old', status: 500, errorCode: 'INTERNAL' }));
    const today = new Date();
    writer.add(entry({ createdAt: today, requestId: 'from-today', status: 500, errorCode: 'INTERNAL' }));
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    await ensureRequestLogPartitions(database.db, twoDaysAgo, 0);
    writer.add(entry({ createdAt: twoDaysAgo, requestId: 'two-days-old' }));
    await writer.drain(database.db);
    const config = parseConfig({ ...TEST_ENV, DATABASE_URL: database.url });
    const result = await runJob(
      { db: database.db, config, storage: null, logger: createLogger('error'), runtime: 'node', holder: 't' },
      logCleanup,
      { kind: 'manual' },
    );
    expect(result.outcome).toBe('success');
    expect(result.run?.message).toContain(partitionName(old));
    // A day that has ended gets the path search index; today's partition, which the writer fills, does not.
    expect(result.run?.message).toMatch(/indexed \d+ closed partitions for path search \(.*request_logs_p/);
    const { rows: trigramIndexes } = await sql<{ indexname: string }>`
      select indexname from pg_indexes where indexname like 'request_logs_p%_path_trgm_idx'`.execute(database.db);
    const indexNames = trigramIndexes.map((r) => r.indexname);
    expect(indexNames).toContain(`${partitionName(twoDaysAgo)}_path_trgm_idx`);
    expect(indexNames).not.toContain(`${partitionName(today)}_path_trgm_idx`);
    expect(await logsFor('two-days-old')).toHaveLength(1);
    expect(await logsFor('ten-days-old')).toEqual([]);
    expect(await logsFor('from-today')).toHaveLength(1);
    // The rollups of the dropped day go with it; today's stay.
    const utcDay = (at: Date) => Math.floor(at.getTime() / 86_400_000) * 86_400_000;
    const errorDays = (await database.db.selectFrom('request_log_error_days').select('day').execute()).map((r) =>
      r.day.getTime(),
    );
    expect(errorDays).not.toContain(utcDay(old));
    expect(errorDays).toContain(utcDay(today));
    const errorHours = await database.db
      .selectFrom('request_log_error_hours')
      .select('hour')
      .where('hour', '<', new Date(Date.now() - 9 * 86_400_000))
      .execute();
    expect(errorHours).toEqual([]);
    const tomorrow = partitionName(new Date(Date.now() + 86_400_000));
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from pg_class where relname = ${tomorrow}`.execute(database.db);
    expect(rows[0]?.n).toBe(1);
  });

  it('a SIGTERM writes what is buffered before the process exits', async () => {
    const port = await freePort();
    const server = spawnProject(['--import', 'tsx', 'functions/node.ts'], {
      ...TEST_ENV,
      DATABASE_URL: database.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    });
    try {
      await server.waitForOutput(/"msg":"listening"/);
      const res = await fetch(`http://127.0.0.1:${port}/api/nowhere`, {
        headers: { 'x-request-id': 'before-sigterm' },
      });
      expect(res.status).toBe(404);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      expect(await logsFor('before-sigterm')).toHaveLength(1);
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    }
  });
});
