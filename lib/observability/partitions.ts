import { sql } from 'kysely';
import type { Db } from '../db/connection.ts';

const DAY_MS = 86_400_000;

// biome-ignore lint/suspicious/noExplicitAny: used by migrations too, before the schema types exist
type AnyDb = Db | import('kysely').Kysely<any>;

function dayStart(date: Date): Date {
  return new Date(Math.floor(date.getTime() / DAY_MS) * DAY_MS);
}

/** request_logs_p20261123 holds [2026-11-23T00:00Z, 2026-11-24T00:00Z). */
export function partitionName(day: Date): string {
  return `request_logs_p${day.toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** Creates the daily partitions covering `from` through `daysAhead` days after it (idempotent). */
export async function ensureRequestLogPartitions(db: AnyDb, from: Date, daysAhead: number): Promise<string[]> {
  const created: string[] = [];
  for (let i = 0; i <= daysAhead; i++) {
    const day = new Date(dayStart(from).getTime() + i * DAY_MS);
    const next = new Date(day.getTime() + DAY_MS);
    const name = partitionName(day);
    try {
      await sql`create table if not exists ${sql.table(name)} partition of request_logs
        for values from (${sql.lit(day.toISOString())}) to (${sql.lit(next.toISOString())})`.execute(db);
      created.push(name);
    } catch (error) {
      // Another instance created it between our check and create: that is the outcome we wanted.
      const code = (error as { code?: string }).code;
      if (code !== '42P07' && code !== '42P17') throw error;
    }
  }
  return created;
}

/** Where the day of a partition named as partitionName names it begins, or null for another name. */
function partitionDay(name: string): Date | null {
  const match = /^request_logs_p(\d{4})(\d{2})(\d{2})$/.exec(name);
  return match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : null;
}

/** The day partitions of request_logs (in the current schema), with where each day ends. */
export async function requestLogDayPartitions(
  db: AnyDb,
): Promise<{ name: string; dayEnd: Date; hasPathIndex: boolean }[]> {
  const { rows } = await sql<{ name: string; has_path_index: boolean }>`
    select c.relname as name, exists (select 1 from pg_index x join pg_class ic on ic.oid = x.indexrelid
        where x.indrelid = c.oid and ic.relname = c.relname || '_path_trgm_idx') as has_path_index
    from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = to_regclass('request_logs')
    order by 1`.execute(db);
  return rows.flatMap(({ name, has_path_index }) => {
    const day = partitionDay(name);
    return day ? [{ name, dayEnd: new Date(day.getTime() + DAY_MS), hasPathIndex: has_path_index }] : [];
  });
}

/** Drops whole daily partitions that end before the cutoff: retention without a bulk DELETE. */
export async function dropRequestLogPartitionsBefore(db: AnyDb, cutoff: Date): Promise<string[]> {
  const dropped: string[] = [];
  for (const { name, dayEnd } of await requestLogDayPartitions(db)) {
    if (dayEnd <= cutoff) {
      await sql`drop table if exists ${sql.table(name)}`.execute(db);
      dropped.push(name);
    }
  }
  return dropped;
}

/** The trigram index behind path search on one day partition (see indexClosedRequestLogPartitions). */
export function pathIndexName(partition: string): string {
  return `${partition}_path_trgm_idx`;
}

/**
 * Gives every day partition that has ended (before today, UTC) a trigram index on `path`, for
 * path search, when pg_trgm is installed. Today's partition, the one the writer fills, has none:
 * maintaining it would cost the writer about a third of its throughput; its quarter-hours that have
 * ended get a partial one instead (indexRequestLogPathSearch). Run by migration 0011, by
 * log_cleanup each night and by log_path_index every 15 minutes; returns the partitions indexed.
 */
export async function indexClosedRequestLogPartitions(db: AnyDb, now = new Date()): Promise<string[]> {
  const schema = await trigramSchema(db);
  if (!schema) return [];
  const today = dayStart(now);
  const indexed: string[] = [];
  for (const { name, dayEnd, hasPathIndex } of await requestLogDayPartitions(db)) {
    if (hasPathIndex || dayEnd > today) continue;
    await sql`create index if not exists ${sql.id(pathIndexName(name))} on ${sql.table(name)}
      using gin (path ${sql.id(schema, 'gin_trgm_ops')})`.execute(db);
    indexed.push(name);
  }
  return indexed;
}

/** The schema pg_trgm is installed in, or undefined when it is not. */
async function trigramSchema(db: AnyDb): Promise<string | undefined> {
  const { rows } = await sql<{ schema: string }>`
    select n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace
    where e.extname = 'pg_trgm'`.execute(db);
  return rows[0]?.schema;
}

const MINUTE_MS = 60_000;
/** How often today's partial path index is rebuilt, and so where its bound falls. */
const PARTIAL_PATH_INDEX_STEP_MS = 15 * MINUTE_MS;
const PARTIAL_PATH_INDEX = /^(request_logs_p\d{8})_path_trgm_to_(\d{2})(\d{2})$/;

/**
 * The partial trigram index on a day partition's rows before `until`, a quarter-hour of that day:
 * request_logs_p20261128_path_trgm_to_1415 holds the paths of 00:00 to 14:15 UTC.
 */
export function partialPathIndexName(partition: string, until: Date): string {
  const hhmm = until.toISOString().slice(11, 16).replace(':', '');
  return `${partition}_path_trgm_to_${hhmm}`;
}

/**
 * The partial path indexes of request_logs' day partitions (of one partition when named), valid
 * or not, with where each ends.
 */
async function partialPathIndexes(
  db: AnyDb,
  partition?: string,
): Promise<{ name: string; partition: string; until: Date; valid: boolean }[]> {
  const { rows } = partition
    ? await sql<{ name: string; valid: boolean }>`
        select ic.relname as name, x.indisvalid as valid
        from pg_index x join pg_class ic on ic.oid = x.indexrelid
        where x.indrelid = to_regclass(${partition})`.execute(db)
    : await sql<{ name: string; valid: boolean }>`
        select ic.relname as name, x.indisvalid as valid
        from pg_inherits i join pg_index x on x.indrelid = i.inhrelid join pg_class ic on ic.oid = x.indexrelid
        where i.inhparent = to_regclass('request_logs')`.execute(db);
  return rows.flatMap(({ name, valid }) => {
    const match = PARTIAL_PATH_INDEX.exec(name);
    const table = match?.[1] as string;
    const day = match && partitionDay(table);
    if (!match || !day) return [];
    const until = day.getTime() + (Number(match[2]) * 60 + Number(match[3])) * MINUTE_MS;
    return [{ name, partition: table, until: new Date(until), valid }];
  });
}

/**
 * Where path search's trigram indexes end: every row before it is in a day with its own index or
 * in today's partial one (the newest valid), and only the rows from it on are read without one.
 * The start of today when today has no partial index yet.
 */
export async function pathIndexedUntil(db: AnyDb, now = new Date()): Promise<Date> {
  const today = dayStart(now);
  // A partial index holds every row its bound admits, those written after it was built too.
  const todays = (await partialPathIndexes(db, partitionName(today))).filter((index) => index.valid);
  return new Date(Math.max(today.getTime(), ...todays.map((index) => index.until.getTime())));
}

/**
 * Keeps path search on indexes through the day: every day that has ended gets its full trigram
 * index (indexClosedRequestLogPartitions), today's partition a partial one on its quarter-hours
 * that have ended (`where created_at < <this quarter-hour>`: the rows the writer adds are past the
 * bound, so it costs the writer nothing), and the partial indexes that a newer or a full one
 * covers are dropped. Built CONCURRENTLY on PostgreSQL (the writer keeps inserting; ~1 s for the
 * 160k rows of the bench's day by 20:00 UTC); a build that failed half-way leaves an invalid
 * index, which the next run replaces. Run by log_path_index every 15 minutes.
 */
export async function indexRequestLogPathSearch(
  db: AnyDb,
  options: { now?: Date; concurrently: boolean },
): Promise<{ closed: string[]; partial: string | null; dropped: string[] }> {
  const now = options.now ?? new Date();
  const schema = await trigramSchema(db);
  if (!schema) return { closed: [], partial: null, dropped: [] };
  const closed = await indexClosedRequestLogPartitions(db, now);
  const concurrently = options.concurrently ? sql`concurrently` : sql``;
  const today = dayStart(now);
  const until = new Date(Math.floor(now.getTime() / PARTIAL_PATH_INDEX_STEP_MS) * PARTIAL_PATH_INDEX_STEP_MS);
  const partition = partitionName(today);
  const existing = await partialPathIndexes(db);
  const hasToday = (await requestLogDayPartitions(db)).some((day) => day.name === partition);
  let partial: string | null = null;
  if (until > today && hasToday) {
    partial = partialPathIndexName(partition, until);
    const leftover = existing.find((index) => index.name === partial);
    if (leftover && !leftover.valid) await sql`drop index ${concurrently} if exists ${sql.id(partial)}`.execute(db);
    await sql`create index ${concurrently} if not exists ${sql.id(partial)} on ${sql.table(partition)}
      using gin (path ${sql.id(schema, 'gin_trgm_ops')}) where created_at < ${sql.lit(until.toISOString())}`.execute(
      db,
    );
  }
  // Superseded: today's earlier ones, and every partial index of a day that now has its full one.
  const dropped: string[] = [];
  for (const index of existing) {
    if (index.name === partial || (index.partition === partition && !partial)) continue;
    await sql`drop index ${concurrently} if exists ${sql.id(index.name)}`.execute(db);
    dropped.push(index.name);
  }
  return { closed, partial, dropped };
}
