import { sql } from 'kysely';
import type { Db } from '../db/connection.ts';
import { LATENCY_BUCKETS_MS } from './request-log-writer.ts';

/** The rollup's latency histogram of a group of raw rows, bucketed exactly as the writer buckets. */
export function latencyHistogramSql() {
  const limits = [...LATENCY_BUCKETS_MS];
  const counts = limits.map((limit, i) =>
    i === 0
      ? sql`count(*) filter (where duration_ms < ${sql.lit(limit)})`
      : sql`count(*) filter (where duration_ms >= ${sql.lit(limits[i - 1])} and duration_ms < ${sql.lit(limit)})`,
  );
  counts.push(sql`count(*) filter (where duration_ms >= ${sql.lit(limits.at(-1))})`);
  return sql<number[]>`array[${sql.join(counts)}]::integer[]`;
}

/**
 * Recomputes the per-minute rollup of [from, to) from the raw rows (minute-aligned bounds), replacing
 * what is stored for the minutes that have rows. The writer keeps the rollup as it goes; this is the
 * reference it must agree with, and what a bulk load (the seed bench) uses instead of the writer.
 */
export async function rollUpRequestLogs(db: Db, from: Date, to: Date): Promise<void> {
  await sql`insert into request_log_minutes (minute, method, route, requests, errors, duration_sum_ms, duration_max_ms, buckets)
    select date_trunc('minute', created_at), method, coalesce(route, '(unmatched)'), count(*)::int,
      (count(*) filter (where status >= 500))::int, sum(duration_ms::float8), max(duration_ms), ${latencyHistogramSql()}
    from request_logs
    where created_at >= ${from} and created_at < ${to}
    group by 1, 2, 3
    on conflict (minute, method, route) do update set
      requests = excluded.requests, errors = excluded.errors, duration_sum_ms = excluded.duration_sum_ms,
      duration_max_ms = excluded.duration_max_ms, buckets = excluded.buckets`.execute(db);
}
