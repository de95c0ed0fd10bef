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
    const match = /^request_logs_p(\d{4})(\d{2})(\d{2})$/.exec(name);
    if (!match) return [];
    const dayEnd = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) + DAY_MS);
    return [{ name, dayEnd, hasPathIndex: has_path_index }];
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
 * maintaining it would cost the writer about a third of its throughput (a day is scanned in ~40 ms
 * instead). Run by migration 0011 and by log_cleanup each night; returns the partitions indexed.
 */
export async function indexClosedRequestLogPartitions(db: AnyDb, now = new Date()): Promise<string[]> {
  const { rows: extension } = await sql<{ schema: string }>`
    select n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace
    where e.extname = 'pg_trgm'`.execute(db);
  const schema = extension[0]?.schema;
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
