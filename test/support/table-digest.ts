import { sql } from 'kysely';
import type { Db } from '../../lib/db/connection.ts';

/** Table-name LIKE patterns left out of every digest: Kysely's migration bookkeeping. */
const ALWAYS_EXCLUDED = ['kysely\\_%'];

/**
 * A function that returns, for every table of the current schema (partitions included), its row
 * count and an md5 of all its rows: two calls compare equal exactly when nothing stored changed.
 * `exclude` takes LIKE patterns for tables that change by design (the request log).
 */
export async function tableDigests(db: Db, exclude: string[] = []): Promise<() => Promise<Record<string, string>>> {
  const patterns = [...ALWAYS_EXCLUDED, ...exclude];
  const tables = (
    await sql<{ name: string }>`select table_name as name from information_schema.tables
      where table_schema = current_schema() and table_type = 'BASE TABLE'
        and not (table_name like any (${sql.val(patterns)}::text[])) order by 1`.execute(db)
  ).rows.map((r) => r.name);
  if (!tables.includes('users')) throw new Error(`no users table among ${tables.join(', ')}`);
  const digests = sql<{ digests: Record<string, string> }>`select json_build_object(${sql.join(
    tables.map(
      (t) =>
        sql`${t}::text, (select count(*) || ':' || md5(coalesce(string_agg(x::text, '|' order by x::text), '')) from ${sql.table(t)} x)`,
    ),
  )}) as digests`;
  return async () => (await digests.execute(db)).rows[0]?.digests ?? {};
}

/** The tables whose digest differs between two snapshots. */
export function changedTables(before: Record<string, string>, after: Record<string, string>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((t) => before[t] !== after[t]);
}
