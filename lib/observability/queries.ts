import { sql } from 'kysely';
import type { RequestLog } from '../../schema/database.ts';
import type { Db } from '../db/connection.ts';
import { cursorTimestamp, decodeCursor, olderThanCursor, type Page, pageOf } from '../pagination.ts';
import { pathIndexedUntil } from './partitions.ts';
import { ERROR_SAMPLES, LATENCY_BUCKETS_MS, type RequestLogEntry, UNMATCHED_ROUTE } from './request-log-writer.ts';
import { errorSampleSql } from './rollups.ts';

/** A stored request log as the API shows it: the writer's entry with its id and an ISO time. */
export type RequestLogView = Omit<RequestLogEntry, 'createdAt'> & { id: number; createdAt: string };

const toView = (r: RequestLog): RequestLogView => ({
  id: r.id,
  createdAt: r.created_at.toISOString(),
  method: r.method,
  path: r.path,
  route: r.route,
  status: r.status,
  durationMs: r.duration_ms,
  userId: r.user_id,
  ip: r.ip,
  requestId: r.request_id,
  errorCode: r.error_code,
  errorMessage: r.error_message,
});

export type LogFilter = {
  from?: Date;
  to?: Date;
  /** exact (404) or a class (4 = 4xx) */
  status?: { exact: number } | { class: number };
  method?: string;
  pathContains?: string;
  route?: string;
  userId?: string;
  limit: number;
  cursor?: string;
};

const DAY_MS = 86_400_000;

/**
 * Newest first on (created_at, id): each page is an index range, however deep. The planner
 * prepares every day partition a query may touch (~5 ms for the 30 of a month's log behind one
 * page, 10x its execution), so a page is asked of the day of its newest possible row and the day
 * before first. Only when a filter leaves too few rows there is the whole range asked. (Asking
 * just the older days then planned slower than the whole range: a bound on created_at gives each
 * partition's indexes more paths to weigh.) A path search goes its own way (pathSearch): split
 * where its trigram indexes end, not by day.
 */
export async function listRequestLogs(db: Db, f: LogFilter): Promise<Page<RequestLogView>> {
  const cursor = f.cursor ? decodeCursor(f.cursor, ['timestamp', 'integer'] as const) : undefined;
  const newest = cursor ? new Date(cursor[0]) : (f.to ?? new Date());
  const since = new Date(Math.floor(newest.getTime() / DAY_MS) * DAY_MS - DAY_MS);
  const page = () => logsQuery(db, f, cursor).limit(f.limit + 1);
  const recentFirst = !f.pathContains && !(f.from && f.from >= since);
  let rows = recentFirst ? await page().where('created_at', '>=', since).execute() : [];
  if (rows.length <= f.limit) rows = f.pathContains ? await pathSearch(db, f, cursor, newest) : await page().execute();
  return pageOf(rows, f.limit, toView, (r) => [r.cursor_at, r.id]);
}

/**
 * A path search's rows, newest first, in two statements split where the trigram indexes end
 * (pathIndexedUntil): the rows since then, read without an index (at most ~15 minutes of today's
 * while log_path_index keeps up), and, when those are too few, the older ones, which every day's
 * index and today's partial one answer (the bound is the partial index's own instant, so the
 * planner can use it). Both run with parallel query off: past a few hundred thousand rows in
 * today's partition the planner turned to a parallel append, and starting its two workers, each
 * opening every partition afresh, took ~80 ms against ~18 ms serial on 2 cores.
 */
async function pathSearch(db: Db, f: LogFilter, cursor: readonly [string, number] | undefined, newest: Date) {
  const indexedUntil = await pathIndexedUntil(db);
  return serially(db, async (trx) => {
    const recent =
      newest >= indexedUntil
        ? await logsQuery(trx, f, cursor)
            .where('created_at', '>=', indexedUntil)
            .limit(f.limit + 1)
            .execute()
        : [];
    if (recent.length > f.limit || (f.from && f.from >= indexedUntil)) return recent;
    const older = await logsQuery(trx, f, cursor)
      .where('created_at', '<', indexedUntil)
      .limit(f.limit + 1 - recent.length)
      .execute();
    return [...recent, ...older];
  });
}

/**
 * Runs `work` with parallel query off for its own statements (SET LOCAL in a transaction of
 * their own; the connection keeps its setting). For the few statements a parallel plan tempts
 * and loses: a worker starts cold and opens every partition a plan names before it reads a row.
 */
function serially<T>(db: Db, work: (trx: Db) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`set local max_parallel_workers_per_gather = 0`.execute(trx);
    return work(trx);
  });
}

/** The filters and the cursor of a page, newest first; listRequestLogs adds its window and limit. */
function logsQuery(db: Db, f: LogFilter, cursor: readonly [string, number] | undefined) {
  let q = db
    .selectFrom('request_logs')
    .selectAll()
    .select(cursorTimestamp('created_at').as('cursor_at'))
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc');
  if (f.from) q = q.where('created_at', '>=', f.from);
  if (f.to) q = q.where('created_at', '<', f.to);
  if (f.status && 'exact' in f.status) q = q.where('status', '=', f.status.exact);
  if (f.status && 'class' in f.status) {
    q = q.where('status', '>=', f.status.class * 100).where('status', '<', f.status.class * 100 + 100);
  }
  if (f.method) q = q.where('method', '=', f.method);
  if (f.pathContains) {
    const probe = pathSearchProbe(f.pathContains);
    q = q.where('path', 'like', `%${escapeLike(probe)}%`);
    if (probe !== f.pathContains) q = q.where(sql<boolean>`strpos(path, ${f.pathContains}) > 0`);
  }
  if (f.route) q = q.where('route', '=', f.route);
  if (f.userId) q = q.where('user_id', '=', f.userId);
  if (cursor) q = q.where(olderThanCursor('created_at', 'id', cursor[0], cursor[1]));
  return q;
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (m) => `\\${m}`);

/**
 * What the trigram index (migration 0011) is asked for when a path search is `needle`. Paths are
 * route words (api, leads, machines) that nearly every row shares, plus ids that few rows do:
 * the index is quick on an id's trigrams but reads millions of entries for the words' (270 ms for
 * `/api/leads/31337`, 3 ms for `31337`). So the longest piece of the needle holding a digit, when
 * it has a trigram's three characters, is what the index looks up, and the whole needle is then
 * checked on those few rows; a needle without one is looked up whole and the planner chooses.
 */
export function pathSearchProbe(needle: string): string {
  let probe = '';
  for (const piece of needle.split(/[^A-Za-z0-9_.~-]+/)) {
    if (/[0-9]/.test(piece) && piece.length >= 3 && piece.length > probe.length) probe = piece;
  }
  return probe || needle;
}

export type ErrorGroup = {
  route: string | null;
  method: string;
  status: number;
  count: number;
  firstSeen: string;
  lastSeen: string;
  samples: string[];
};

const HOUR_MS = 3_600_000;
const ceilTo = (at: number, unit: number) => Math.ceil(at / unit) * unit;
const floorTo = (at: number, unit: number) => Math.floor(at / unit) * unit;

/**
 * Errors grouped by route, method and status (5xx, and 4xx when asked), biggest first, for any
 * window: whole UTC days come from the daily error rollup, the whole hours left at either end
 * from the hourly one, and the partial hours at the very ends from the raw rows (the partial
 * error index), so a week costs about what a day does and every count is exact.
 */
export async function errorsByRoute(
  db: Db,
  options: { from: Date; to: Date; include4xx: boolean },
): Promise<ErrorGroup[]> {
  const from = options.from.getTime();
  const to = options.to.getTime();
  const minStatus = options.include4xx ? 400 : 500;
  // [hourFrom, hourTo): the whole hours inside the window; [dayFrom, dayTo): the whole days
  // inside those (each span empty when there is none).
  const hourFrom = Math.min(ceilTo(from, HOUR_MS), to);
  const hourTo = Math.max(floorTo(to, HOUR_MS), hourFrom);
  const dayFrom = Math.min(ceilTo(hourFrom, DAY_MS), hourTo);
  const dayTo = Math.max(floorTo(hourTo, DAY_MS), dayFrom);
  const at = (ms: number) => new Date(ms);
  const rawRows = (lo: number, hi: number) => sql`
    select coalesce(route, ${UNMATCHED_ROUTE}), method, status, count(*)::int, min(created_at), max(created_at),
      coalesce((array_agg(distinct ${errorSampleSql}) filter (where ${errorSampleSql} is not null))[1:${sql.lit(ERROR_SAMPLES)}], '{}')
    from request_logs
    where status >= ${minStatus} and created_at >= ${at(lo)} and created_at < ${at(hi)}
    group by 1, 2, 3`;
  const query = sql<{
    route: string;
    method: string;
    status: number;
    count: number;
    first_seen: Date;
    last_seen: Date;
    samples: string[];
  }>`
    with part as (
      select route, method, status, count, first_seen, last_seen, samples
      from request_log_error_days
      where day >= ${at(dayFrom)} and day < ${at(dayTo)} and status >= ${minStatus}
      union all
      select route, method, status, count, first_seen, last_seen, samples
      from request_log_error_hours
      where hour >= ${at(hourFrom)} and hour < ${at(dayFrom)} and status >= ${minStatus}
      union all
      select route, method, status, count, first_seen, last_seen, samples
      from request_log_error_hours
      where hour >= ${at(dayTo)} and hour < ${at(hourTo)} and status >= ${minStatus}
      union all
      ${rawRows(from, hourFrom)}
      union all
      ${rawRows(hourTo, to)}
    ),
    grouped as (
      select route, method, status, sum(count)::int as count, min(first_seen) as first_seen, max(last_seen) as last_seen
      from part group by 1, 2, 3
      order by count desc, route, method, status
      limit 100
    ),
    -- Samples only for the groups shown.
    distinct_samples as (
      select route, method, status, s
      from part, unnest(part.samples) as s
      where (route, method, status) in (select route, method, status from grouped)
      group by 1, 2, 3, 4
    ),
    sampled as (
      select route, method, status, (array_agg(s))[1:${sql.lit(ERROR_SAMPLES)}] as samples
      from distinct_samples group by 1, 2, 3
    )
    select g.*, coalesce(x.samples, '{}') as samples
    from grouped g left join sampled x using (route, method, status)
    order by count desc, route, method, status`;
  // Every input is small by construction (rollup rows, and at most an hour of raw rows at each
  // end), but an hour of 4xx rows is enough for PostgreSQL to plan a parallel append under the
  // materialized CTE: starting its workers cost ~50 ms against ~10 ms for the serial plan on a
  // 2-core machine.
  const { rows } = await serially(db, (trx) => query.execute(trx));
  return rows.map((r) => ({
    route: r.route === UNMATCHED_ROUTE ? null : r.route,
    method: r.method,
    status: r.status,
    count: r.count,
    firstSeen: new Date(r.first_seen).toISOString(),
    lastSeen: new Date(r.last_seen).toISOString(),
    samples: r.samples,
  }));
}

export type ActiveUser = {
  userId: string;
  name: string;
  email: string;
  role: string;
  lastPath: string;
  lastSeen: string;
  requests: number;
};

/**
 * Users with a request in the last `minutes`, most recent first: one hash aggregate over the
 * window's rows, then each user's newest path from their index. The bound is computed here, so
 * the planner prunes both reads to the partitions the window covers.
 */
export async function activeUsers(db: Db, minutes: number): Promise<ActiveUser[]> {
  const since = new Date(Date.now() - minutes * 60_000);
  const { rows } = await sql<{
    user_id: string;
    name: string;
    email: string;
    role: string;
    last_path: string;
    last_seen: Date;
    requests: number;
  }>`
    select u.id as user_id, u.name, u.email, u.role, l.path as last_path, c.last_seen, c.requests
    from (
      select user_id, count(*)::int as requests, max(created_at) as last_seen
      from request_logs
      where user_id is not null and created_at >= ${since}
      group by user_id
    ) c
    join users u on u.id = c.user_id
    join lateral (
      select path from request_logs r
      where r.user_id = c.user_id and r.created_at = c.last_seen and r.created_at >= ${since}
      order by r.id desc
      limit 1
    ) l on true
    order by c.last_seen desc`.execute(db);
  return rows.map((r) => ({
    userId: r.user_id,
    name: r.name,
    email: r.email,
    role: r.role,
    lastPath: r.last_path,
    lastSeen: new Date(r.last_seen).toISOString(),
    requests: r.requests,
  }));
}

export type StatsBucket = { at: string; requests: number; errors: number; p50Ms: number | null; p95Ms: number | null };

/**
 * Time-bucketed requests, errors and latency percentiles, from the per-minute totals only: a week
 * of one-minute rows (10,080) is summed into its buckets by the database. The bucket of a minute
 * is computed in float8 (date_part): extract() answers numeric since PostgreSQL 14, and in numeric
 * a 7-day chart's query took 39-44 ms on the bench's VM, against 22-23 in float8.
 */
export async function requestStats(
  db: Db,
  options: { from: Date; to: Date; bucketMinutes: number },
): Promise<StatsBucket[]> {
  const size = options.bucketMinutes * 60_000;
  const buckets = LATENCY_BUCKETS_MS.length + 1;
  const { rows } = await sql<{ at: number; requests: number; errors: number; histogram: number[] }>`
    select (floor(date_part('epoch', minute) * 1000 / ${size}) * ${size})::float8 as at,
      sum(requests)::int as requests, sum(errors)::int as errors,
      array[${sql.join(Array.from({ length: buckets }, (_, i) => sql`sum(buckets[${sql.lit(i + 1)}])::int`))}] as histogram
    from request_log_minute_totals
    where minute >= ${options.from} and minute < ${options.to}
    group by 1`.execute(db);
  const byBucket = new Map(rows.map((r) => [Number(r.at), r]));
  const out: StatsBucket[] = [];
  for (let at = Math.floor(options.from.getTime() / size) * size; at < options.to.getTime(); at += size) {
    const b = byBucket.get(at);
    out.push({
      at: new Date(at).toISOString(),
      requests: b?.requests ?? 0,
      errors: b?.errors ?? 0,
      p50Ms: b ? histogramPercentile(b.histogram, 0.5) : null,
      p95Ms: b ? histogramPercentile(b.histogram, 0.95) : null,
    });
  }
  return out;
}

/** The upper bound of the bucket holding the percentile (the last bucket reports its lower bound). */
function histogramPercentile(histogram: number[], p: number): number | null {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i] ?? 0;
    if (seen >= p * total) return LATENCY_BUCKETS_MS[i] ?? (LATENCY_BUCKETS_MS.at(-1) as number);
  }
  return LATENCY_BUCKETS_MS.at(-1) as number;
}

export type DatabaseStats = {
  sizeBytes: number;
  tables: { name: string; totalBytes: number; rowsEstimate: number }[];
  connections: { state: string; count: number }[];
};

/** Database size, the 10 largest tables (partitions rolled into their parent), connections by state. */
export async function databaseStats(db: Db): Promise<DatabaseStats> {
  // Three independent catalog reads side by side (each stats files on disk): the view waits for
  // the slowest instead of their sum.
  const [size, tables, connections] = await Promise.all([
    sql<{ size: number }>`select pg_database_size(current_database()) as size`.execute(db),
    sql<{ name: string; total_bytes: number; rows_estimate: number }>`
      select coalesce(parent.relname, c.relname) as name,
             sum(pg_total_relation_size(c.oid))::bigint as total_bytes,
             sum(greatest(c.reltuples, 0))::bigint as rows_estimate
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
      left join pg_inherits i on i.inhrelid = c.oid
      left join pg_class parent on parent.oid = i.inhparent
      where c.relkind = 'r'
      group by 1
      order by 2 desc
      limit 10`.execute(db),
    sql<{ state: string; count: number }>`
      select coalesce(state, 'unknown') as state, count(*)::int as count
      from pg_stat_activity where datname = current_database() group by 1 order by 2 desc`.execute(db),
  ]);
  return {
    sizeBytes: Number(size.rows[0]?.size ?? 0),
    tables: tables.rows.map((t) => ({
      name: t.name,
      totalBytes: Number(t.total_bytes),
      rowsEstimate: Number(t.rows_estimate),
    })),
    connections: connections.rows,
  };
}
