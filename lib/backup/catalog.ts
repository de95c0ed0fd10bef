import { type RawBuilder, sql } from 'kysely';
import { type Bytes, countLines } from './codec.ts';
import { type ColumnKind, columnKind, copyColumnsQuery, copyToJsonLines } from './copy-json.ts';
import type { ManifestTable } from './manifest.ts';
import { COPY_LINES, type Session } from './session.ts';

/**
 * Tables a backup never holds: the migration bookkeeping (restore recreates it by migrating),
 * job leases (state of running processes, including the backup's own) and the index of backups
 * itself (object storage is the source of truth for that).
 */
export const NEVER_BACKED_UP = ['opsbase_migrations', 'opsbase_migrations_lock', 'job_locks', 'backups'];

/**
 * A column as a backup reads it: `asText` when it is carried as its text (json/jsonb, so a JSON
 * null stays apart from NULL; and arrays and other array-like types in format 2, so bounds, NULL
 * elements and int2vector come back as they were); `kind` for copy-json.ts.
 */
export type ExportedColumn = { name: string; type: string; asText: boolean; kind: ColumnKind };

export type TableInfo = {
  name: string;
  columns: ExportedColumn[];
  primaryKey: string[];
  partitions: { name: string; bound: string }[];
  /** The planner's row estimate (for progress bars only). */
  estimatedRows: number;
};

/** Ordinary and partitioned tables of the current schema (partitions are read through their parent). */
export async function listTables(session: Session): Promise<string[]> {
  const rows = await session.query<{ name: string }>(sql`select c.relname as name from pg_class c
    where c.relnamespace = current_schema()::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
    order by c.relname`);
  return rows.map((r) => r.name);
}

/** A name as a quoted identifier in a string literal ('"Name"'), for functions taking text names. */
export function quotedName(name: string) {
  return sql.lit(`"${name.replaceAll('"', '""')}"`);
}

/** A table or sequence of the current schema as a regclass value. */
export function regclass(name: string) {
  return sql`${quotedName(name)}::regclass`;
}

/** `arraysAsText`: array-like columns carried as their text (format 2; false for a drill of format 1). */
export async function describeTable(session: Session, table: string, arraysAsText = true): Promise<TableInfo> {
  const relation = regclass(table);
  // element: for the array type of a built-in type written with `,` between elements (not
  // int2vector and its kind, nor box[], whose text forms differ)
  const columns = await session.query<{
    name: string;
    type: string;
    base: string;
    builtin: boolean;
    element: string | null;
    arrayLike: boolean;
  }>(sql`
    select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, t.typname as base,
      t.oid < 16384 as builtin, e.typname as element, t.typcategory = 'A' as "arrayLike"
    from pg_attribute a join pg_type t on t.oid = a.atttypid
      left join pg_type e on e.oid = t.typelem and e.typarray = t.oid and e.oid < 16384 and e.typdelim = ','
    where a.attrelid = ${relation} and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
    order by a.attnum`);
  const primaryKey = await session.query<{ name: string }>(sql`
    select a.attname as name
    from pg_index i cross join lateral unnest(i.indkey) with ordinality k(attnum, position)
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
    where i.indrelid = ${relation} and i.indisprimary order by k.position`);
  const partitions = await session.query<{ name: string; bound: string }>(sql`
    select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
    from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = ${relation} order by c.relname`);
  const [estimate] = await session.query<{ rows: string }>(sql`
    select greatest(coalesce(sum(c.reltuples), 0), 0)::bigint::text as rows from pg_class c
    where c.oid = ${relation} or c.oid in (select inhrelid from pg_inherits where inhparent = ${relation})`);
  return {
    name: table,
    columns: columns.map((c) => {
      const asText = c.base === 'json' || c.base === 'jsonb' || (arraysAsText && c.arrayLike);
      return {
        name: c.name,
        type: c.type,
        asText,
        kind: asText ? 'string' : columnKind({ name: c.base, builtin: c.builtin, element: c.element }),
      };
    }),
    primaryKey: primaryKey.map((c) => c.name),
    partitions,
    estimatedRows: Number(estimate?.rows ?? 0),
  };
}

/**
 * One JSON object per row, keys in column order, rows in primary-key order. The server writes the
 * JSON, so every type keeps its exact text form: numeric and bigint as exact numbers, bytea as
 * hex, timestamptz in UTC with microseconds. Columns carried as text (`asText`: json/jsonb, and
 * in format 2 arrays) are their text in a string: otherwise a JSON `null` stored in a jsonb column
 * would come back as SQL NULL, and to_json of an array drops its bounds. Generated columns are
 * left out (the target computes them).
 */
export function exportQuery(table: {
  name: string;
  columns: { name: string; asText: boolean }[];
  primaryKey: string[];
}): RawBuilder<{ line: string }> {
  const t = sql.id(table.name);
  const values = sql.join(
    table.columns.map((c) =>
      c.asText ? sql`${t}.${sql.id(c.name)}::text as ${sql.id(c.name)}` : sql`${t}.${sql.id(c.name)}`,
    ),
  );
  const order =
    table.primaryKey.length > 0
      ? sql`order by ${sql.join(table.primaryKey.map((k) => sql`${t}.${sql.id(k)}`))}`
      : sql``;
  // A json value nested in an array or a composite keeps its text, raw newlines included, which
  // would split the line: they become spaces (JSON whitespace either way; escaped strings hold none).
  return sql<{ line: string }>`select translate(row_to_json(r)::text, chr(10), ' ') as line from ${t}
    cross join lateral (select ${values}) r ${order}`;
}

/**
 * A table's JSON lines as exportQuery has the server write them, and their count. Over COPY
 * (Node and a real server) the server sends the plain columns and Node writes the same bytes
 * (copy-json.ts: row_to_json costs the server ~2.5x what its COPY does); elsewhere (PGlite,
 * Workers) the server writes them, read through a cursor.
 */
export function exportLines(
  session: Session,
  table: Pick<TableInfo, 'name' | 'columns' | 'primaryKey'>,
  batchRows: number,
): { bytes: Bytes; rows(): number } {
  if (session.copy && table.columns.length > 0) {
    const copy = session.copyOut(sql`copy (${copyColumnsQuery(table)}) to stdout ${COPY_LINES}`);
    return copyToJsonLines(copy, table.columns);
  }
  const counted = countLines(session.cursorLines(exportQuery(table), batchRows));
  return { bytes: counted.bytes, rows: counted.lines };
}

/**
 * The column list and select expressions that turn a JSON line (`line`, type json) back into a
 * row: json_populate_record (`r`) for every type, the text form for json/jsonb (see exportQuery).
 */
export function loadSelect(table: Pick<ManifestTable, 'name' | 'columns'>) {
  return {
    columns: sql.join(table.columns.map((c) => sql.id(c.name))),
    expressions: sql.join(
      table.columns.map((c) => {
        const text = sql`(line ->> ${sql.lit(c.name)})`;
        if (c.type === 'json') return sql`${text}::json`;
        if (c.type === 'jsonb') return sql`${text}::jsonb`;
        return sql`r.${sql.id(c.name)}`;
      }),
    ),
    record: sql`json_populate_record(null::${sql.id(table.name)}, line)`,
  };
}

/** Parent -> children edges of foreign keys between tables of the current schema. */
export async function foreignKeys(session: Session): Promise<{ child: string; parent: string }[]> {
  return session.query<{ child: string; parent: string }>(sql`
    select c.relname as child, p.relname as parent from pg_constraint k
    join pg_class c on c.oid = k.conrelid join pg_class p on p.oid = k.confrelid
    where k.contype = 'f' and k.connamespace = current_schema()::regnamespace`);
}

/** Tables ordered so every table comes after the tables it references. */
export function foreignKeyOrder(tables: string[], edges: { child: string; parent: string }[]): string[] {
  const wanted = new Set(tables);
  const parents = new Map(tables.map((t) => [t, new Set<string>()]));
  for (const { child, parent } of edges) {
    if (child !== parent && wanted.has(child) && wanted.has(parent)) parents.get(child)?.add(parent);
  }
  const ordered: string[] = [];
  const placed = new Set<string>();
  while (ordered.length < tables.length) {
    const ready = tables.filter((t) => !placed.has(t) && [...(parents.get(t) ?? [])].every((p) => placed.has(p)));
    if (ready.length === 0) {
      const stuck = tables.filter((t) => !placed.has(t));
      throw new Error(`foreign keys form a cycle between ${stuck.join(', ')}: cannot order the load`);
    }
    for (const t of ready) {
      ordered.push(t);
      placed.add(t);
    }
  }
  return ordered;
}

/** Sequences of the current schema with their last value (null when never used). */
export async function readSequences(session: Session): Promise<{ name: string; lastValue: string | null }[]> {
  return session.query<{ name: string; lastValue: string | null }>(sql`
    select sequencename as name, last_value::text as "lastValue" from pg_sequences
    where schemaname = current_schema() order by sequencename`);
}
