// `npm run bench -- seed-logs`: fills request_logs with BENCH_LOG_ROWS (10 million) realistic rows
// over the last 30 days, generated inside the database, with the per-minute rollup computed
// from them. It resets what a previous seed wrote; the observability bench reuses the result.
import { sql } from 'kysely';
import type { Db } from '../lib/db/connection.ts';
import { dropRequestLogPartitionsBefore, indexRequestLogPathSearch } from '../lib/observability/partitions.ts';
import { type LogBenchDatabase, logBenchDatabase } from './support/log-database.ts';
import { hourSlots, type Incident, seedLogUsers, seedRequestLogs } from './support/log-seed.ts';
import { progress } from './support/progress.ts';
import { positiveNumberFromEnv } from './support/settings.ts';
import { formatTable } from './support/table.ts';
import type { Verdict } from './support/verdict.ts';

const say = progress('seed-logs');
const DAY_MS = 86_400_000;
const MARKER_KEY = 'bench.seed-logs';

/** What a seed left behind, in app_settings, so a later run knows the table is the bench's own. */
export type SeedMarker = {
  status: 'seeding' | 'done';
  rows: number;
  from: string;
  to: string;
  /** Rows per unit of traffic weight: a top-up keeps the same level. */
  perWeight: number;
  seconds: number;
};

export async function readSeedMarker(db: Db): Promise<SeedMarker | undefined> {
  const row = await db.selectFrom('app_settings').select('value').where('key', '=', MARKER_KEY).executeTakeFirst();
  return row?.value as SeedMarker | undefined;
}

async function writeSeedMarker(db: Db, marker: SeedMarker): Promise<void> {
  await db
    .insertInto('app_settings')
    .values({ key: MARKER_KEY, value: JSON.stringify(marker) })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(marker), updated_at: new Date() }))
    .execute();
}

/** Error bursts an operator would look for: a database outage, a flaky upload route, a Telegram hiccup today. */
function incidentsBefore(to: Date): Incident[] {
  const at = (daysAgo: number, hour: number, minute: number) => {
    const d = new Date(Math.floor(to.getTime() / DAY_MS) * DAY_MS - daysAgo * DAY_MS);
    return new Date(d.getTime() + (hour * 60 + minute) * 60_000);
  };
  const threeHoursAgo = new Date(to.getTime() - 3 * 3_600_000);
  return [
    { from: at(9, 10, 0), to: at(9, 12, 0), route: '/api/uploads', status: 500, rate: 0.2 },
    { from: at(2, 14, 10), to: at(2, 14, 40), route: null, status: 503, rate: 0.3 },
    {
      from: threeHoursAgo,
      to: new Date(threeHoursAgo.getTime() + 45 * 60_000),
      route: '/api/telegram/webhook',
      status: 502,
      rate: 0.4,
    },
  ];
}

async function seedUserIds(db: Db): Promise<string[]> {
  const rows = await db
    .selectFrom('users')
    .select('id')
    .where('email', 'like', 'seed-%@bench.opsbase.test')
    .orderBy(sql`length(email)`)
    .orderBy('email')
    .execute();
  return rows.map((r) => r.id);
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const duration = (seconds: number) =>
  seconds >= 60 ? `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s` : `${seconds.toFixed(1)} s`;

/** Drops every request_logs partition and the rollup, then writes `rows` rows over `days` days up to now. */
export async function seedLogs(
  db: Db,
  options: { rows: number; days: number; connections: number },
): Promise<SeedMarker & { phases: [string, number][] }> {
  const previous = await readSeedMarker(db);
  const [{ any } = { any: false }] = (
    await sql<{ any: boolean }>`select exists (select 1 from request_logs) as any`.execute(db)
  ).rows;
  if (!previous && any) {
    throw new Error(
      'request_logs already holds rows this bench did not write; point BENCH_DATABASE_URL at a scratch database',
    );
  }
  const started = performance.now();
  const to = new Date();
  const from = new Date(Math.floor(to.getTime() / 3_600_000) * 3_600_000 - options.days * DAY_MS);
  const { slots, perWeight } = hourSlots(from, to, { total: options.rows });
  const marker: SeedMarker = {
    status: 'seeding',
    rows: 0,
    from: from.toISOString(),
    to: to.toISOString(),
    perWeight,
    seconds: 0,
  };
  await writeSeedMarker(db, marker);

  say(previous ? 'resetting: dropping the previous seed' : 'preparing an empty table');
  await dropRequestLogPartitionsBefore(db, new Date(8.64e15));
  await sql`truncate request_log_minutes, request_log_minute_totals, request_log_error_hours, request_log_error_days`.execute(
    db,
  );
  await sql`alter sequence request_logs_id_seq restart`.execute(db);
  const userIds = await seedLogUsers(db);
  const reset = (performance.now() - started) / 1000;

  say(
    `writing ${count(options.rows)} rows from ${from.toISOString()} to ${to.toISOString()}, a day partition at a time`,
  );
  const writing = performance.now();
  const connections = options.connections;
  const rows = await seedRequestLogs(db, slots, { userIds, incidents: incidentsBefore(to), connections }, (done) => {
    const seconds = (performance.now() - writing) / 1000;
    const rate = done.totalRows / seconds;
    const left = (options.rows - done.totalRows) / rate;
    say(
      `${done.day.toISOString().slice(0, 10)}: ${count(done.rows)} rows; ${count(done.totalRows)} of ${count(options.rows)} ` +
        `(${Math.round((100 * done.totalRows) / options.rows)}%), ${count(rate)} rows/s with the rollups, ${duration(left)} left`,
    );
  });
  const written = (performance.now() - writing) / 1000;

  // What log_path_index does every 15 minutes: path search's trigram index on every day that has
  // ended, and on today's quarter-hours that have. Without it the seeded table is one production
  // never has (path search scans 29 full days).
  say("trigram path indexes on the days and today's quarter-hours that have ended, as log_path_index builds them");
  const indexing = performance.now();
  const { closed, partial } = await indexRequestLogPathSearch(db, { concurrently: false });
  const indexed = (performance.now() - indexing) / 1000;
  say(`${closed.length} day partitions indexed; today until the last quarter-hour: ${partial ?? 'none yet'}`);

  // What autovacuum does to insert-only partitions in steady state: statistics for the planner
  // (the partitioned parent is never analyzed automatically) and the visibility map.
  say('vacuum analyze request_logs and the rollups');
  const vacuuming = performance.now();
  for (const table of [
    'request_logs',
    'request_log_minutes',
    'request_log_minute_totals',
    'request_log_error_hours',
    'request_log_error_days',
  ]) {
    await sql`vacuum (analyze) ${sql.table(table)}`.execute(db);
  }
  const vacuumed = (performance.now() - vacuuming) / 1000;

  const done: SeedMarker = { ...marker, status: 'done', rows, seconds: (performance.now() - started) / 1000 };
  await writeSeedMarker(db, done);
  return {
    ...done,
    phases: [
      ['reset + users', reset],
      ['rows + rollups', written],
      ['path indexes', indexed],
      ['vacuum analyze', vacuumed],
    ],
  };
}

/** Adds rows from the seed's end up to now at the seed's traffic level (so "the last 15 minutes" has traffic). */
export async function topUpLogs(db: Db, marker: SeedMarker): Promise<number> {
  const from = new Date(marker.to);
  const to = new Date();
  const { slots } = hourSlots(from, to, { perWeight: marker.perWeight });
  const userIds = await seedUserIds(db);
  const rows = await seedRequestLogs(db, slots, { userIds, incidents: [] }, () => {});
  await writeSeedMarker(db, { ...marker, rows: marker.rows + rows, to: to.toISOString() });
  // Days and quarter-hours that ended since the seed get their path index, as log_path_index gives them.
  await indexRequestLogPathSearch(db, { concurrently: false });
  await sql`analyze request_logs`.execute(db);
  return rows;
}

/** Seeds when the database holds no finished seed (or `reseed`), else tops the existing one up to now. */
export async function ensureSeededLogs(
  database: LogBenchDatabase,
  options: { rows: number; days: number; reseed: boolean },
): Promise<{ marker: SeedMarker; seededNow: boolean }> {
  const { db, close } = await database.open();
  try {
    const existing = await readSeedMarker(db);
    if (existing?.status === 'done' && !options.reseed) {
      say(`reusing the seed of ${existing.to} (${count(existing.rows)} rows); topping it up to now`);
      const added = await topUpLogs(db, existing);
      say(`${count(added)} rows added`);
      return { marker: (await readSeedMarker(db)) as SeedMarker, seededNow: false };
    }
    // PGlite runs one statement at a time whatever the connections: one is enough there.
    const seeded = await seedLogs(db, { ...options, connections: database.kind === 'postgres' ? 2 : 1 });
    await report(db, database, seeded);
    return { marker: seeded, seededNow: true };
  } finally {
    await close();
  }
}

async function report(db: Db, database: LogBenchDatabase, seeded: Awaited<ReturnType<typeof seedLogs>>) {
  const { rows } = await sql<{ partitions: number; bytes: number; minutes: number }>`
    select (select count(*)::int from pg_inherits where inhparent = 'request_logs'::regclass) as partitions,
      (select coalesce(sum(pg_total_relation_size(inhrelid)), 0)::float8 from pg_inherits where inhparent = 'request_logs'::regclass) as bytes,
      (select count(*)::int from request_log_minutes) as minutes`.execute(db);
  const info = rows[0];
  console.log(`\n${count(seeded.rows)} rows on ${database.label}\n`);
  console.log(
    formatTable(
      ['phase', 'seconds'],
      [...seeded.phases.map(([p, s]) => [p, s.toFixed(1)]), ['total', seeded.seconds.toFixed(1)]],
    ),
  );
  console.log(
    `\n${count(seeded.rows / (seeded.phases[1]?.[1] ?? 1))} rows/s with the rollups; ${info?.partitions} partitions, ` +
      `${((info?.bytes ?? 0) / 2 ** 30).toFixed(2)} GiB with indexes; ${count(info?.minutes ?? 0)} rollup rows\n`,
  );
}

export function seedSettings() {
  return {
    rows: positiveNumberFromEnv('BENCH_LOG_ROWS', 10_000_000),
    days: positiveNumberFromEnv('BENCH_LOG_DAYS', 30),
  };
}

export async function run(): Promise<Verdict[]> {
  const database = await logBenchDatabase();
  say(`database: ${database.label}`);
  const settings = seedSettings();
  const { marker } = await ensureSeededLogs(database, { ...settings, reseed: true });
  const { db, close } = await database.open();
  try {
    // The rollups must count exactly the raw rows (every side read in one statement).
    const { rows } = await sql<{
      raw: number;
      minutes: number;
      totals: number;
      errors: number;
      errorHours: number;
      errorDays: number;
    }>`
      select (select count(*) from request_logs)::float8 as raw,
        (select coalesce(sum(requests), 0) from request_log_minutes)::float8 as minutes,
        (select coalesce(sum(requests), 0) from request_log_minute_totals)::float8 as totals,
        (select count(*) from request_logs where status >= 400)::float8 as errors,
        (select coalesce(sum(count), 0) from request_log_error_hours)::float8 as "errorHours",
        (select coalesce(sum(count), 0) from request_log_error_days)::float8 as "errorDays"`.execute(db);
    const c = rows[0] ?? { raw: -1, minutes: -2, totals: -2, errors: -1, errorHours: -2, errorDays: -2 };
    return [
      {
        bench: 'seed-logs',
        target: `${count(settings.rows)} rows over ${settings.days} days, rollups agree with raw rows`,
        measured: `${count(c.raw)} rows (rollups ${count(c.minutes)} / ${count(c.totals)}), ${count(c.errors)} errors (rollups ${count(c.errorHours)} / ${count(c.errorDays)}), in ${duration(marker.seconds)}`,
        pass:
          c.raw === settings.rows &&
          c.minutes === c.raw &&
          c.totals === c.raw &&
          c.errorHours === c.errors &&
          c.errorDays === c.errors,
      },
    ];
  } finally {
    await close();
  }
}
