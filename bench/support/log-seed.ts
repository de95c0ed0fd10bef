// Realistic request_logs rows generated inside the database (generate_series), one statement per
// day partition, so 10 million rows never cross the wire.
import { sql } from 'kysely';
import type { Db } from '../../lib/db/connection.ts';
import { ensureRequestLogPartitions } from '../../lib/observability/partitions.ts';
import { rollUpRequestLogs } from '../../lib/observability/rollups.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * The API a CRM + vending deployment serves: method, route template, share of traffic, median
 * latency (ms), whether it needs a user, and how error-prone it is (x the base 5xx rate).
 */
const ROUTES: [
  method: string,
  route: string | null,
  weight: number,
  medianMs: number,
  auth: boolean,
  errors: number,
][] = [
  ['GET', '/api/leads', 14, 18, true, 1],
  ['GET', '/api/leads/:id', 12, 6, true, 1],
  ['PATCH', '/api/leads/:id', 5, 12, true, 1.5],
  ['POST', '/api/leads', 2, 15, true, 2],
  ['GET', '/api/attendance', 4, 35, true, 1],
  ['GET', '/api/machines', 8, 22, true, 1],
  ['GET', '/api/machines/:id', 7, 8, true, 1],
  ['PATCH', '/api/machines/:id', 1.5, 14, true, 1],
  ['GET', '/api/tasks', 9, 16, true, 1],
  ['GET', '/api/tasks/:id', 5, 6, true, 1],
  ['POST', '/api/tasks', 1.5, 20, true, 1],
  ['POST', '/api/tasks/:id/complete', 3, 25, true, 2],
  ['GET', '/api/nomenclature', 3, 30, true, 1],
  ['GET', '/api/locations', 2, 12, true, 1],
  ['POST', '/api/uploads', 1, 180, true, 4],
  ['GET', '/api/auth/me', 6, 3, true, 0.5],
  ['POST', '/api/auth/login', 1.2, 45, false, 1],
  ['POST', '/api/auth/refresh', 4, 5, false, 1],
  ['POST', '/api/auth/logout', 0.3, 4, true, 1],
  ['GET', '/api/users', 0.5, 9, true, 1],
  ['GET', '/api/users/:id', 0.4, 5, true, 1],
  ['POST', '/api/telegram/webhook', 6, 9, false, 3],
  ['POST', '/api/cron/:job', 0.05, 900, false, 6],
  ['GET', '/api/admin/system/logs', 0.3, 14, true, 1],
  ['GET', '/api/admin/system/stats', 0.2, 20, true, 1],
  ['GET', null, 0.6, 1, false, 0], // scanners and typos: no route matched, always 404
];

/** Requests per hour of the day (UTC; the users work UTC+3 office hours), relative. */
const HOUR_WEIGHTS = [2, 1.5, 1, 1, 2, 5, 9, 12, 13, 13, 12, 12, 13, 13, 12, 10, 8, 6, 5, 4, 4, 3, 3, 2];

/** 4xx/5xx outcomes: status, share of requests (5xx ones times the route's factor), code, messages. */
const OUTCOMES: [status: number, share: number, code: string, messages: string[]][] = [
  [401, 0.012, 'UNAUTHORIZED', ['missing or invalid bearer token', 'access token expired']],
  [403, 0.004, 'FORBIDDEN', ['your role cannot do this', 'operators see only their own tasks']],
  [404, 0.015, 'NOT_FOUND', ['lead not found', 'machine not found', 'task not found']],
  [400, 0.01, 'VALIDATION_FAILED', ['request validation failed: phone: Invalid string', 'request validation failed']],
  [409, 0.002, 'CONFLICT', ['a lead with this external id already exists', 'task already completed']],
  [429, 0.003, 'RATE_LIMITED', ['too many requests; retry in 12 s']],
  [
    500,
    0.0025,
    'INTERNAL',
    [
      "Cannot read properties of undefined (reading 'id')",
      'duplicate key value violates unique constraint "leads_external_id_key"',
      'canceling statement due to statement timeout',
    ],
  ],
  [502, 0.0005, 'SERVICE_UNAVAILABLE', ['amoCRM answered 502 Bad Gateway', 'Telegram API answered 502']],
  [503, 0.001, 'SERVICE_UNAVAILABLE', ['the database is unavailable', 'object storage is unavailable']],
  [504, 0.0005, 'SERVICE_UNAVAILABLE', ['upstream timed out after 10000 ms']],
];

export const SEED_USERS = 200;

/** Users the rows point at (they must exist: active-users joins them): staff of a small company. */
export async function seedLogUsers(db: Db, count = SEED_USERS): Promise<string[]> {
  const roles = ['agent', 'agent', 'agent', 'operator', 'operator', 'manager', 'admin', 'md'];
  await db.deleteFrom('users').where('email', 'like', 'seed-%@bench.opsbase.test').execute();
  const rows = await db
    .insertInto('users')
    .values(
      Array.from({ length: count }, (_, i) => ({
        email: `seed-${i}@bench.opsbase.test`,
        name: `Seed User ${i}`,
        role: roles[i % roles.length] as 'agent',
        // Not a valid hash: these users exist for the logs, nobody logs in as them.
        password_hash: 'seeded:no-login',
      })),
    )
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

/**
 * Hour slots between from and to (the last may be partial), weighted by the daily curve and
 * quieter on weekends. Rows: exactly `total` spread by weight, or `perWeight` rows per unit of
 * weight (a top-up keeping an earlier seed's level); perWeight comes back for that purpose.
 */
export function hourSlots(
  from: Date,
  to: Date,
  rows: { total: number } | { perWeight: number },
): { slots: HourSlot[]; perWeight: number } {
  const weighted: { at: Date; seconds: number; weight: number }[] = [];
  for (let at = from.getTime(); at < to.getTime(); at += HOUR_MS) {
    const seconds = Math.min(HOUR_MS, to.getTime() - at) / 1000;
    const d = new Date(at);
    const weekend = d.getUTCDay() === 0 || d.getUTCDay() === 6 ? 0.35 : 1;
    weighted.push({ at: d, seconds, weight: (HOUR_WEIGHTS[d.getUTCHours()] ?? 1) * weekend * (seconds / 3600) });
  }
  const sum = weighted.reduce((a, s) => a + s.weight, 0);
  const total = 'total' in rows ? rows.total : Math.round(rows.perWeight * sum);
  let given = 0;
  let share = 0;
  const slots = weighted.map((s) => {
    share += sum > 0 ? (s.weight / sum) * total : 0;
    const n = Math.round(share) - given;
    given += n;
    return { at: s.at, seconds: s.seconds, rows: n };
  });
  return { slots, perWeight: sum > 0 ? total / sum : 0 };
}

const cumulative = (weights: number[]) => {
  const sum = weights.reduce((a, b) => a + b, 0);
  let acc = 0;
  return weights.map((w) => {
    const start = acc / sum;
    acc += w;
    return start;
  });
};

/** One error burst: between from and to, `rate` of the requests to `route` (null: every route) fail with `status`. */
export type Incident = { from: Date; to: Date; route: string | null; status: number; rate: number };

export type HourSlot = { at: Date; seconds: number; rows: number };

/**
 * Per route, the lower bounds of its outcome buckets for width_bucket: one per 4xx/5xx outcome
 * (0-wide where it cannot happen: 401/403 on public routes, everything but 404 on unmatched
 * paths; 5xx shares times the route's error factor), then success.
 */
function outcomeBounds(): number[] {
  return ROUTES.flatMap(([, route, , , auth, factor]) => {
    let acc = 0;
    const bounds = [0];
    for (const [status, share] of OUTCOMES) {
      const possible = route === null ? status === 404 : auth || (status !== 401 && status !== 403);
      acc += route === null ? (status === 404 ? 1 : 0) : possible ? share * (status >= 500 ? factor : 1) : 0;
      bounds.push(acc);
    }
    return bounds;
  });
}

/** Inserts the rows of the given hour slots in one statement; every random draw is made in the database. */
export async function insertSeedRows(
  db: Db,
  slots: HourSlot[],
  userIds: string[],
  incidents: Incident[],
): Promise<number> {
  const rows = slots.reduce((a, s) => a + s.rows, 0);
  if (rows > 0) await seedRowsInsert(slots, userIds, incidents).execute(db);
  return rows;
}

/** The generating INSERT ... SELECT (separate so it can be EXPLAINed). */
export function seedRowsInsert(slots: HourSlot[], userIds: string[], incidents: Incident[]) {
  // An incident is attached to the slots it overlaps (at most one per slot).
  const incidentOf = slots.map((s) =>
    incidents.find((i) => i.from.getTime() < s.at.getTime() + s.seconds * 1000 && i.to.getTime() > s.at.getTime()),
  );
  const routeIndex = (route: string | null) => ROUTES.findIndex(([, r]) => r === route) + 1;
  const stride = OUTCOMES.length + 1;
  const bounds = outcomeBounds();
  const routes = ROUTES.map((r, i) => ({ r, bounds: `{${bounds.slice(i * stride, (i + 1) * stride).join(',')}}` }));
  // Route and outcome attributes come from two small tables joined on their index: cheaper per
  // row than subscripting parameter arrays.
  return sql`insert into request_logs (created_at, method, path, route, status, duration_ms, user_id, ip, request_id, error_code, error_message)
    with slot as (
      select * from unnest(${slots.map((s) => s.at.toISOString())}::timestamptz[], ${slots.map((s) => s.seconds)}::float8[],
        ${slots.map((s) => s.rows)}::int[], ${incidentOf.map((i) => i?.from.toISOString() ?? null)}::timestamptz[],
        ${incidentOf.map((i) => i?.to.toISOString() ?? null)}::timestamptz[],
        ${incidentOf.map((i) => (i ? routeIndex(i.route) : null))}::int[], ${incidentOf.map((i) => i?.status ?? null)}::int[],
        ${incidentOf.map((i) => i?.rate ?? null)}::float8[])
        as t(at, seconds, n, inc_from, inc_to, inc_route, inc_status, inc_rate)
    ),
    route as materialized (
      select ri::int, method, route, median_ms, auth, bounds::float8[] as bounds,
        case when method = 'POST' and route in ('/api/leads', '/api/tasks', '/api/uploads') then 201 else 200 end as ok
      from unnest(${routes.map(({ r }) => r[0])}::text[], ${routes.map(({ r }) => r[1])}::text[],
        ${routes.map(({ r }) => r[3])}::float8[], ${routes.map(({ r }) => r[4])}::boolean[], ${routes.map((x) => x.bounds)}::text[])
        with ordinality as r(method, route, median_ms, auth, bounds, ri)
    ),
    outcome as (
      select k::int, status, code, string_to_array(messages, E'\n') as messages
      from unnest(${OUTCOMES.map((o) => o[0])}::int[], ${OUTCOMES.map((o) => o[2])}::text[], ${OUTCOMES.map((o) => o[3].join('\n'))}::text[])
        with ordinality as o(status, code, messages, k)
    ),
    draw as materialized (
      -- Stratified in the slot, so rows come out in time order without a sort (ids grow with time,
      -- as the writer's do); whole milliseconds, as cursors carry.
      select to_timestamp(floor(extract(epoch from slot.at) * 1000 + (g - 1 + random()) * slot.seconds * 1000 / slot.n) / 1000)
          as created_at,
        width_bucket(random(), ${cumulative(ROUTES.map((r) => r[2]))}::float8[]) as ri,
        random() as u_status, random() as u_pick, random() as u_user, random() as u_tail,
        sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) as z,
        slot.inc_from, slot.inc_to, slot.inc_route, slot.inc_status, slot.inc_rate
      from slot, generate_series(1, slot.n) as g
    ),
    decided as (
      select d.*, r.method, r.route, r.median_ms, r.auth, r.ok,
        case
          when d.inc_rate is not null and d.created_at >= d.inc_from and d.created_at < d.inc_to
            and (d.inc_route = d.ri or (d.inc_route = 0 and r.route is not null)) and d.u_status < d.inc_rate
            then (select k from outcome where status = d.inc_status)
          else width_bucket(d.u_status, r.bounds)
        end as k
      from draw d join route r on r.ri = d.ri
    ),
    finished as (
      select d.*, coalesce(o.status, d.ok) as status, o.code, o.messages[1 + floor(d.u_tail * cardinality(o.messages))::int] as message,
        1 + floor(pow(d.u_user, 2.2) * ${userIds.length})::int as ui
      from decided d left join outcome o on o.k = d.k
    )
    select created_at, method,
      case when route is null then '/api/' || (array['wp-login.php', '.env', 'v1/leads', 'admin', 'graphql'])[1 + floor(u_pick * 5)::int]
        else replace(replace(route, ':id', (1 + floor(pow(u_pick, 1.7) * 40000))::int::text), ':job', 'leads_sync') end,
      route, status::smallint,
      (round(100 * case
        when status = 504 then 10000 + 50 * u_tail
        when status in (401, 403, 429) then 0.4 + 2 * u_tail
        else median_ms * exp(0.7 * z) * (case when u_tail < 0.01 then 5 + 4500 * u_tail else 1 end)
      end) / 100)::real,
      case when auth and status <> 401 then (${userIds}::uuid[])[ui] end,
      case
        when route = '/api/telegram/webhook' then '149.154.167.' || (200 + floor(u_user * 20))::int
        when route = '/api/cron/:job' then '127.0.0.1'
        when auth then '10.20.' || ui / 50 || '.' || 1 + (ui * 5 + floor(u_pick * 3)::int) % 250
        else '198.51.100.' || (1 + floor(u_pick * 250))::int
      end,
      -- UUID-shaped like the app's request ids, at half the cost of gen_random_uuid()
      lpad(to_hex((random() * 4294967295)::bigint), 8, '0') || '-' || lpad(to_hex((random() * 65535)::int), 4, '0') || '-4'
        || lpad(to_hex((random() * 4095)::int), 3, '0') || '-' || to_hex(32768 + (random() * 16383)::int) || '-'
        || lpad(to_hex((random() * 281474976710655)::bigint), 12, '0'),
      code, message
    from finished`;
}

/**
 * Inserts the slots one day partition per statement, `connections` days at a time (the pool must
 * have that many), each day rolled up after its insert. Days touch disjoint partitions and rollup
 * rows, so they do not wait on each other.
 */
export async function seedRequestLogs(
  db: Db,
  slots: HourSlot[],
  options: { userIds: string[]; incidents: Incident[]; connections?: number },
  onDay: (done: { day: Date; rows: number; totalRows: number }) => void,
): Promise<number> {
  const first = slots[0];
  const last = slots.at(-1);
  if (!first || !last) return 0;
  const end = last.at.getTime() + last.seconds * 1000;
  const firstDay = Math.floor(first.at.getTime() / DAY_MS) * DAY_MS;
  await ensureRequestLogPartitions(db, first.at, Math.ceil((end - firstDay) / DAY_MS) + 1);
  const days: number[] = [];
  for (let day = firstDay; day < end; day += DAY_MS) days.push(day);
  let written = 0;
  const seedDay = async (day: number) => {
    const todays = slots.filter((s) => s.at.getTime() >= day && s.at.getTime() < day + DAY_MS);
    const rows = await insertSeedRows(db, todays, options.userIds, options.incidents);
    // Recomputed over whole hours: a top-up's first hour may already hold rows written before it.
    await rollUpRequestLogs(db, new Date(Math.max(day, first.at.getTime())), new Date(day + DAY_MS));
    written += rows;
    onDay({ day: new Date(day), rows, totalRows: written });
  };
  const next = async (): Promise<void> => {
    const day = days.shift();
    if (day === undefined) return;
    await seedDay(day);
    return next();
  };
  await Promise.all(Array.from({ length: Math.max(1, options.connections ?? 1) }, next));
  return written;
}
