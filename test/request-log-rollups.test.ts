import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateTo, migrateToLatest } from '../lib/db/migrate.ts';
import { type ErrorGroup, errorsByRoute, requestStats } from '../lib/observability/queries.ts';
import { type RequestLogEntry, RequestLogWriter } from '../lib/observability/request-log-writer.ts';
import { rollUpRequestLogs } from '../lib/observability/rollups.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ROUTES = ['/api/leads/:id', '/api/tasks', null] as const;
const STATUSES = [200, 200, 201, 404, 422, 500, 503] as const;

/**
 * Requests spread over `span` (three hours): every route x status mix, durations in every latency
 * bucket, messages repeated, missing, and more than five distinct in one group.
 */
function traffic(start: number, count: number, span = 3 * HOUR, tag = 'rollup'): RequestLogEntry[] {
  return Array.from({ length: count }, (_, i) => {
    const status = STATUSES[i % STATUSES.length] as number;
    return {
      createdAt: new Date(start + Math.floor((i * span) / count)),
      method: i % 5 === 0 ? 'POST' : 'GET',
      path: `/api/things/${i}`,
      route: ROUTES[i % ROUTES.length] ?? null,
      status,
      durationMs: [0.4, 7, 12.5, 30, 80, 200, 400, 900, 2000, 7000][i % 10] as number,
      userId: null,
      ip: '203.0.113.9',
      requestId: `${tag}-${i}`,
      errorCode: status >= 400 ? (status >= 500 ? 'INTERNAL' : 'NOT_FOUND') : null,
      errorMessage: status === 500 ? `failure ${i % 9}` : status === 404 ? 'thing not found' : null,
    };
  });
}

type ErrorRow = Omit<ErrorGroup, 'samples'>;

describe.each(databaseKinds())('request log rollups on %s', (kind) => {
  let database: TestDatabase;
  const start = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR + 17 * 60_000; // not hour-aligned
  const end = start + 3 * HOUR;
  // Older traffic over 60 hours across UTC midnights, for the daily error groups.
  const daysStart = Math.floor(start / DAY) * DAY - 3 * DAY + 7 * HOUR + 41 * 60_000;
  const daysEnd = daysStart + 60 * HOUR;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
    // Many small flushes, so groups are merged by the upserts, not only within one batch.
    const writer = new RequestLogWriter({ maxBatch: 37, maxBuffered: 10_000 });
    for (const e of traffic(start, 1500)) writer.add(e);
    for (const e of traffic(daysStart, 900, daysEnd - daysStart, 'days')) writer.add(e);
    await writer.drain(database.db);
  });
  afterAll(async () => {
    await database?.drop();
  });

  /** Messages each error group's raw rows carry, to check the kept samples against. */
  async function rawMessages(unit = HOUR): Promise<Map<string, Set<string>>> {
    const rows = await database.db
      .selectFrom('request_logs')
      .select(['route', 'method', 'status', 'error_message', 'error_code', 'created_at'])
      .where('status', '>=', 400)
      .execute();
    const out = new Map<string, Set<string>>();
    for (const r of rows) {
      const at = Math.floor(r.created_at.getTime() / unit) * unit;
      const key = `${at} ${r.route ?? '(unmatched)'} ${r.method} ${r.status}`;
      const message = r.error_message || r.error_code;
      if (!out.has(key)) out.set(key, new Set());
      if (message) out.get(key)?.add(message);
    }
    return out;
  }

  const snapshot = async () => ({
    minutes: (
      await database.db.selectFrom('request_log_minutes').selectAll().orderBy(['minute', 'method', 'route']).execute()
    ).map((r) => ({ ...r, duration_sum_ms: Math.round(r.duration_sum_ms * 100) })),
    totals: (await database.db.selectFrom('request_log_minute_totals').selectAll().orderBy('minute').execute()).map(
      (r) => ({ ...r, duration_sum_ms: Math.round(r.duration_sum_ms * 100) }),
    ),
    errors: await database.db
      .selectFrom('request_log_error_hours')
      .selectAll()
      .orderBy(['hour', 'method', 'route', 'status'])
      .execute(),
    errorDays: await database.db
      .selectFrom('request_log_error_days')
      .selectAll()
      .orderBy(['day', 'method', 'route', 'status'])
      .execute(),
  });

  it("the writer's rollups are what recomputing them from the raw rows gives", async () => {
    const written = await snapshot();
    expect(written.totals.reduce((n, r) => n + r.requests, 0)).toBe(2400);
    expect(written.errorDays.length).toBeGreaterThan(0);
    await rollUpRequestLogs(database.db, new Date(daysStart), new Date(daysEnd));
    await rollUpRequestLogs(database.db, new Date(start), new Date(end));
    const recomputed = await snapshot();
    expect(written.minutes).toEqual(recomputed.minutes);
    expect(written.totals).toEqual(recomputed.totals);
    const messages = await rawMessages();
    const withoutSamples = <T extends { samples: string[] }>(rows: T[]) => rows.map(({ samples: _, ...r }) => r);
    expect(withoutSamples(written.errors)).toEqual(withoutSamples(recomputed.errors));
    expect(withoutSamples(written.errorDays)).toEqual(withoutSamples(recomputed.errorDays));
    // Each day holds its hours' errors.
    const perDay = new Map<number, number>();
    for (const r of written.errors) {
      const day = Math.floor(r.hour.getTime() / DAY) * DAY;
      perDay.set(day, (perDay.get(day) ?? 0) + r.count);
    }
    const dayTotals = new Map<number, number>();
    for (const r of written.errorDays) dayTotals.set(r.day.getTime(), (dayTotals.get(r.day.getTime()) ?? 0) + r.count);
    expect(dayTotals).toEqual(perDay);
    const dayMessages = await rawMessages(DAY);
    for (const r of [...written.errorDays, ...recomputed.errorDays]) {
      const all = dayMessages.get(`${r.day.getTime()} ${r.route} ${r.method} ${r.status}`) ?? new Set();
      expect(new Set(r.samples).size).toBe(Math.min(5, all.size));
      for (const s of r.samples) expect(all.has(s)).toBe(true);
    }
    // Samples: up to five distinct messages of the group, as many as it has when fewer.
    for (const r of [...written.errors, ...recomputed.errors]) {
      const all = messages.get(`${r.hour.getTime()} ${r.route} ${r.method} ${r.status}`) ?? new Set();
      expect(new Set(r.samples).size).toBe(Math.min(5, all.size));
      for (const s of r.samples) expect(all.has(s)).toBe(true);
    }
  });

  it('errors for any window (whole days and hours from the rollups, the ends from raw rows) match the raw rows', async () => {
    const windows: [number, number][] = [
      [daysStart, end], // days, hours and partial hours at both ends
      [daysStart - 5 * 60_000, daysEnd + 5 * 60_000], // whole days inside, the rest around them
      [Math.ceil(daysStart / DAY) * DAY, Math.ceil(daysStart / DAY) * DAY + DAY], // one whole day
      [Math.ceil(daysStart / DAY) * DAY + 30 * 60_000, Math.ceil(daysStart / DAY) * DAY + 2 * DAY - HOUR], // no whole day at the start
      [start, end], // partial hours at both ends
      [Math.ceil(start / HOUR) * HOUR, Math.floor(end / HOUR) * HOUR], // whole hours only
      [start + 5 * 60_000, start + 25 * 60_000], // inside one hour
      [start - 10 * HOUR, start - 9 * HOUR], // nothing
    ];
    const messages = await rawMessages();
    for (const [from, to] of windows) {
      for (const include4xx of [false, true]) {
        const { rows } = await sql<ErrorRow>`
          select route, method, status, count(*)::int as count,
            to_json(min(created_at)) #>> '{}' as "firstSeen", to_json(max(created_at)) #>> '{}' as "lastSeen"
          from request_logs
          where status >= ${include4xx ? 400 : 500} and created_at >= ${new Date(from)} and created_at < ${new Date(to)}
          group by 1, 2, 3`.execute(database.db);
        const expected = rows
          .map((r) => ({
            ...r,
            firstSeen: new Date(r.firstSeen).toISOString(),
            lastSeen: new Date(r.lastSeen).toISOString(),
          }))
          .sort(
            (a, b) =>
              b.count - a.count || `${a.route}${a.method}${a.status}`.localeCompare(`${b.route}${b.method}${b.status}`),
          );
        const got = await errorsByRoute(database.db, { from: new Date(from), to: new Date(to), include4xx });
        const key = (g: ErrorRow) => `${g.route} ${g.method} ${g.status}`;
        expect(
          got.map(({ samples: _, ...g }) => g).sort((a, b) => b.count - a.count || key(a).localeCompare(key(b))),
        ).toEqual(expected.sort((a, b) => b.count - a.count || key(a).localeCompare(key(b))));
        for (const g of got) {
          const seen = new Set(
            [...messages.entries()]
              .filter(([k]) => k.endsWith(` ${g.route ?? '(unmatched)'} ${g.method} ${g.status}`))
              .flatMap(([, m]) => [...m]),
          );
          expect(g.samples.length).toBeLessThanOrEqual(5);
          for (const s of g.samples) expect(seen.has(s)).toBe(true);
        }
      }
    }
  });

  it('the errors query turns parallel workers off for itself only', async () => {
    await database.db.connection().execute(async (conn) => {
      const setting = async () =>
        (await sql<{ value: string }>`select current_setting('max_parallel_workers_per_gather') as value`.execute(conn))
          .rows[0]?.value;
      await sql`set max_parallel_workers_per_gather = 3`.execute(conn);
      const groups = await errorsByRoute(conn, { from: new Date(start), to: new Date(end), include4xx: true });
      expect(groups.length).toBeGreaterThan(0);
      // SET LOCAL inside the query's transaction: the connection, back in the pool, keeps its own.
      expect(await setting()).toBe('3');
      await sql`reset max_parallel_workers_per_gather`.execute(conn);
    });
  });

  it('stats buckets count what the raw rows hold', async () => {
    const from = new Date(Math.floor(start / HOUR) * HOUR);
    const to = new Date(from.getTime() + 4 * HOUR);
    const buckets = await requestStats(database.db, { from, to, bucketMinutes: 15 });
    expect(buckets).toHaveLength(16);
    const { rows } = await sql<{ at: number; requests: number; errors: number }>`
      select (floor(extract(epoch from created_at) / 900) * 900000)::float8 as at, count(*)::int as requests,
        (count(*) filter (where status >= 500))::int as errors
      from request_logs where created_at >= ${from} and created_at < ${to} group by 1`.execute(database.db);
    const raw = new Map(rows.map((r) => [Number(r.at), r]));
    for (const b of buckets) {
      const r = raw.get(new Date(b.at).getTime());
      expect({ requests: b.requests, errors: b.errors }).toEqual({
        requests: r?.requests ?? 0,
        errors: r?.errors ?? 0,
      });
      if (b.requests > 0) expect(b.p95Ms).toBeGreaterThanOrEqual(b.p50Ms ?? 0);
    }
  });

  it('the migration that adds the totals and error rollups fills them from rows already logged', async () => {
    const before = await snapshot();
    await migrateTo(database.db, '2026_11_23_0004_request_logs');
    await migrateToLatest(database.db);
    const after = await snapshot();
    expect(after.totals).toEqual(before.totals);
    expect(after.errors.map(({ samples: _, ...r }) => r)).toEqual(before.errors.map(({ samples: _, ...r }) => r));
    expect(after.errorDays.map(({ samples: _, ...r }) => r)).toEqual(before.errorDays.map(({ samples: _, ...r }) => r));
  });
});
