import { type Kysely, sql } from 'kysely';
import type { Db } from '../db/connection.ts';
import { ERROR_SAMPLES, LATENCY_BUCKETS_MS, UNMATCHED_ROUTE } from './request-log-writer.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** The rollups' latency histogram of a group of raw rows, bucketed exactly as the writer buckets. */
function latencyHistogramSql() {
  const limits = [...LATENCY_BUCKETS_MS];
  const counts = limits.map((limit, i) =>
    i === 0
      ? sql`count(*) filter (where duration_ms < ${sql.lit(limit)})`
      : sql`count(*) filter (where duration_ms >= ${sql.lit(limits[i - 1])} and duration_ms < ${sql.lit(limit)})`,
  );
  counts.push(sql`count(*) filter (where duration_ms >= ${sql.lit(limits.at(-1))})`);
  return sql<number[]>`array[${sql.join(counts)}]::integer[]`;
}

/** errorDays are summed from the hourly error groups, so they come after `errors` when both are asked. */
export type Rollup = 'minutes' | 'totals' | 'errors' | 'errorDays';

/** The message an error row contributes to its group's samples (null when it has none). */
export const errorSampleSql = sql<string | null>`nullif(coalesce(error_message, error_code), '')`;

/**
 * Recomputes the rollups (all unless named) of the whole hours covering [from, to) from the raw rows, replacing what
 * is stored for the groups that have rows: the per-minute rollup per route, its totals per
 * minute, and the hourly and daily error groups. The writer keeps them as it goes; this is the reference they
 * must agree with, what a bulk load (the seed bench) uses instead of the writer, and the backfill.
 */
export async function rollUpRequestLogs(
  // biome-ignore lint/suspicious/noExplicitAny: the backfill migration passes its untyped Kysely
  db: Db | Kysely<any>,
  from: Date,
  to: Date,
  rollups: readonly Rollup[] = ['minutes', 'totals', 'errors', 'errorDays'],
): Promise<void> {
  const start = new Date(Math.floor(from.getTime() / HOUR_MS) * HOUR_MS);
  const end = new Date(Math.ceil(to.getTime() / HOUR_MS) * HOUR_MS);
  const histogram = latencyHistogramSql();
  if (rollups.includes('minutes'))
    await sql`insert into request_log_minutes (minute, method, route, requests, errors, duration_sum_ms, duration_max_ms, buckets)
    select date_trunc('minute', created_at, 'UTC'), method, coalesce(route, ${UNMATCHED_ROUTE}), count(*)::int,
      (count(*) filter (where status >= 500))::int, sum(duration_ms::float8), max(duration_ms), ${histogram}
    from request_logs
    where created_at >= ${start} and created_at < ${end}
    group by 1, 2, 3
    on conflict (minute, method, route) do update set
      requests = excluded.requests, errors = excluded.errors, duration_sum_ms = excluded.duration_sum_ms,
      duration_max_ms = excluded.duration_max_ms, buckets = excluded.buckets`.execute(db);
  if (rollups.includes('totals'))
    await sql`insert into request_log_minute_totals (minute, requests, errors, duration_sum_ms, duration_max_ms, buckets)
    select date_trunc('minute', created_at, 'UTC'), count(*)::int, (count(*) filter (where status >= 500))::int,
      sum(duration_ms::float8), max(duration_ms), ${histogram}
    from request_logs
    where created_at >= ${start} and created_at < ${end}
    group by 1
    on conflict (minute) do update set
      requests = excluded.requests, errors = excluded.errors, duration_sum_ms = excluded.duration_sum_ms,
      duration_max_ms = excluded.duration_max_ms, buckets = excluded.buckets`.execute(db);
  if (rollups.includes('errors'))
    await sql`insert into request_log_error_hours (hour, method, route, status, count, first_seen, last_seen, samples)
    select date_trunc('hour', created_at, 'UTC'), method, coalesce(route, ${UNMATCHED_ROUTE}), status, count(*)::int,
      min(created_at), max(created_at),
      coalesce((array_agg(distinct ${errorSampleSql}) filter (where ${errorSampleSql} is not null))[1:${sql.lit(ERROR_SAMPLES)}], '{}')
    from request_logs
    where status >= 400 and created_at >= ${start} and created_at < ${end}
    group by 1, 2, 3, 4
    on conflict (hour, method, route, status) do update set
      count = excluded.count, first_seen = excluded.first_seen, last_seen = excluded.last_seen,
      samples = excluded.samples`.execute(db);
  if (rollups.includes('errorDays')) await rollUpErrorDays(db, start, end);
}

/**
 * The daily error groups of the whole UTC days touching [from, to), summed from the hourly ones
 * (replacing what is stored for the groups that have hours).
 */
export async function rollUpErrorDays(
  // biome-ignore lint/suspicious/noExplicitAny: the backfill migration passes its untyped Kysely
  db: Db | Kysely<any>,
  from: Date,
  to: Date,
): Promise<void> {
  const dayStart = new Date(Math.floor(from.getTime() / DAY_MS) * DAY_MS);
  const dayEnd = new Date(Math.ceil(to.getTime() / DAY_MS) * DAY_MS);
  await sql`with h as (
      select date_trunc('day', hour, 'UTC') as day, method, route, status, count, first_seen, last_seen, samples
      from request_log_error_hours where hour >= ${dayStart} and hour < ${dayEnd}
    ),
    sums as (
      select day, method, route, status, sum(count)::int as count, min(first_seen) as first_seen,
        max(last_seen) as last_seen
      from h group by 1, 2, 3, 4
    ),
    sampled as (
      select day, method, route, status, (array_agg(distinct s))[1:${sql.lit(ERROR_SAMPLES)}] as samples
      from h, unnest(h.samples) as s group by 1, 2, 3, 4
    )
    insert into request_log_error_days (day, method, route, status, count, first_seen, last_seen, samples)
    select day, method, route, status, count, first_seen, last_seen, coalesce(sampled.samples, '{}')
    from sums left join sampled using (day, method, route, status)
    on conflict (day, method, route, status) do update set
      count = excluded.count, first_seen = excluded.first_seen, last_seen = excluded.last_seen,
      samples = excluded.samples`.execute(db);
}
