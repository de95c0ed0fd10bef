import { sql } from 'kysely';
import type { Db } from '../../lib/db/connection.ts';
import { ensureRequestLogPartitions } from '../../lib/observability/partitions.ts';
import { LATENCY_BUCKETS_MS } from '../../lib/observability/request-log-writer.ts';

// A stand-in until `npm run bench -- seed-logs` lands on main: request logs spread evenly over
// the last `days` days, written set-based (generate_series) with their per-minute rollup, in
// chunks so progress shows and no statement runs for minutes.

const ROUTES = [
  ['GET', '/api/leads'],
  ['GET', '/api/leads/:id'],
  ['PATCH', '/api/leads/:id'],
  ['GET', '/api/users'],
  ['GET', '/api/auth/me'],
  ['POST', '/api/auth/login'],
  ['POST', '/api/auth/refresh'],
  ['GET', '/api/machines'],
  ['GET', '/api/tasks'],
  ['POST', '/api/tasks/:id/complete'],
] as const;

const DAY_MS = 86_400_000;

/** Adds `rows` request logs between now - days and now; returns when they and their rollup are written. */
export async function seedRequestLogs(
  db: Db,
  options: { rows: number; days: number; userIds: string[]; chunk?: number; onProgress?: (done: number) => void },
): Promise<void> {
  const to = Date.now();
  const from = to - options.days * DAY_MS;
  await ensureRequestLogPartitions(db, new Date(from), options.days + 2);
  const chunk = options.chunk ?? 250_000;
  const step = (to - from) / options.rows;
  const methods = ROUTES.map(([m]) => m);
  const routes = ROUTES.map(([, r]) => r);
  for (let start = 0; start < options.rows; start += chunk) {
    const end = Math.min(options.rows, start + chunk) - 1;
    await sql`
      insert into request_logs (created_at, method, path, route, status, duration_ms, user_id, ip, request_id, error_code, error_message)
      select to_timestamp((${from}::double precision + g * ${step}::double precision) / 1000),
             (${methods}::text[])[1 + g % ${ROUTES.length}],
             replace((${routes}::text[])[1 + g % ${ROUTES.length}], ':id', (g % 5000)::text),
             case when g % 37 = 0 then null else (${routes}::text[])[1 + g % ${ROUTES.length}] end,
             case when g % 97 = 0 then 500 when g % 37 = 0 then 404 when g % 53 = 0 then 401 else 200 end,
             (1 + (g * 7919) % 180 + case when g % 97 = 0 then 900 else 0 end)::real,
             case when g % 3 = 0 then (${options.userIds}::uuid[])[1 + g % ${options.userIds.length}] end,
             '203.0.113.' || (g % 250), 'seed-' || g,
             case when g % 97 = 0 then 'INTERNAL' when g % 37 = 0 then 'NOT_FOUND' when g % 53 = 0 then 'UNAUTHORIZED' end,
             case when g % 97 = 0 then 'connect ETIMEDOUT 10.0.0.' || (g % 9) || ':5432' when g % 53 = 0 then 'access token has expired' end
      from generate_series(${start}::bigint, ${end}::bigint) g`.execute(db);
    options.onProgress?.(end + 1);
  }
  // The rollup the writer would have kept, recomputed per day from the raw rows (so statements
  // stay short and a day that already had rows is counted once).
  const bounds = [0, ...LATENCY_BUCKETS_MS];
  const histogram = sql.join(
    bounds.map((low, i) =>
      i < LATENCY_BUCKETS_MS.length
        ? sql`count(*) filter (where duration_ms >= ${low} and duration_ms < ${LATENCY_BUCKETS_MS[i]})::int`
        : sql`count(*) filter (where duration_ms >= ${low})::int`,
    ),
  );
  for (let day = Math.floor(from / DAY_MS) * DAY_MS; day < to; day += DAY_MS) {
    const [dayFrom, dayTo] = [new Date(day), new Date(day + DAY_MS)];
    await sql`delete from request_log_minutes where minute >= ${dayFrom} and minute < ${dayTo}`.execute(db);
    await sql`
      insert into request_log_minutes (minute, method, route, requests, errors, duration_sum_ms, duration_max_ms, buckets)
      select date_trunc('minute', created_at), method, coalesce(route, '(unmatched)'), count(*)::int,
             (count(*) filter (where status >= 500))::int, sum(duration_ms), max(duration_ms), array[${histogram}]
      from request_logs
      where created_at >= ${dayFrom} and created_at < ${dayTo}
      group by 1, 2, 3`.execute(db);
  }
  await sql`analyze request_logs`.execute(db);
  await sql`analyze request_log_minutes`.execute(db);
}
