import { sql } from 'kysely';
import { migrations as knownMigrations } from '../../migrations/index.ts';
import type { Db } from '../db/connection.ts';
import { MigrationError, migrateTo, migrationStatus } from '../db/migrate.ts';
import type { Logger } from '../logger.ts';
import type { Storage } from '../storage.ts';
import { foreignKeyOrder, foreignKeys, loadSelect, quotedName, regclass } from './catalog.ts';
import { splitLines } from './codec.ts';
import { type CopyColumn, CopyTextError, jsonLinesToCopy } from './copy-text.ts';
import { dropIndexesForLoad, rebuildIndexes } from './deferred-indexes.ts';
import { arraysAsText, type BackupFormat, type Manifest, type ManifestTable } from './manifest.ts';
import type { BackupProgress } from './progress.ts';
import { BackupRefusedError, checkKey, checkStored, loadManifest, readTable } from './read.ts';
import { COPY_LINES, openSession, type Session } from './session.ts';
import { BackupObjectError, copyObject, headObject } from './store.ts';

export type RestoreDeps = {
  /** The database to restore into. */
  target: Db;
  storage: Storage;
  prefix: string;
  encryptionKey: Uint8Array | undefined;
  logger: Logger;
  onProgress?: (event: BackupProgress) => void;
  signal?: AbortSignal;
};

export type RestoreOptions = {
  /** Replace a non-empty target (in one transaction). Without it a non-empty target is refused. */
  replace?: boolean;
  /** Copy the files rows refer to back to their keys (a drill leaves the live bucket alone). */
  restoreObjects?: boolean;
};

export type RestoreSummary = {
  id: string;
  tables: { name: string; rows: number }[];
  rows: number;
  objects: number;
  migratedTo: string | undefined;
  durationMs: number;
};

/** Bytes of JSON lines per insert statement on the portable path. */
const BATCH_BYTES = 4 * 1024 * 1024;
/** Tables with at least this many rows load before their indexes are built. */
const DEFER_INDEXES_ROWS = 10_000;

/**
 * Restores a backup: first every check that can refuse it (manifest, key, each object's presence
 * and checksum, migration level, an empty target unless `replace`), so a refused restore has
 * written nothing; then migrates the target to the manifest's migration and loads every table in
 * foreign-key order in one transaction, resets sequences, checks row counts and commits.
 */
export async function restoreBackup(
  deps: RestoreDeps,
  id: string,
  options: RestoreOptions = {},
): Promise<RestoreSummary> {
  const started = performance.now();
  const { storage, signal } = deps;
  const step = (message: string) => deps.onProgress?.({ phase: 'step', message });
  const manifest = await loadManifest(storage, deps.prefix, id, signal);
  const key = await checkKey(manifest, deps.encryptionKey);

  const lastMigration = manifest.migrations.at(-1);
  const unknown = manifest.migrations.filter((m) => !(m in knownMigrations));
  if (unknown.length > 0) {
    throw new BackupRefusedError(
      `backup ${id} was made by a newer version (migration ${unknown[0]} is unknown here): upgrade Opsbase first`,
    );
  }

  step('checking every object against the manifest');
  for (const table of manifest.tables) {
    signal?.throwIfAborted();
    await checkStored(storage, table, signal);
  }
  for (const object of options.restoreObjects === false ? [] : manifest.objects) {
    const head = await headObject(storage, object.backupKey, signal);
    if (!head) throw new BackupObjectError(object.backupKey, 'missing from storage');
    if (head.bytes !== object.bytes) {
      throw new BackupObjectError(object.backupKey, `size ${head.bytes} differs from the manifest's ${object.bytes}`);
    }
  }

  // A drill restores into a scratch schema: the migrations' bookkeeping goes there too.
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(deps.target);
  const schema = rows[0]?.schema === 'public' ? undefined : rows[0]?.schema;
  await checkTarget(deps.target, manifest, Boolean(options.replace), schema);
  if (lastMigration) {
    step(`migrating the target to ${lastMigration}`);
    const run = await migrateTo(deps.target, lastMigration, schema);
    if (run.error) throw new MigrationError(run.failedMigration, run.error);
  }

  await checkTablesExist(deps.target, manifest);

  const session = await openSession(deps.target);
  let failure: Error | undefined;
  try {
    const loaded = await loadAll(deps, session, manifest, key, options);
    return {
      id,
      tables: loaded,
      rows: loaded.reduce((n, t) => n + t.rows, 0),
      objects: options.restoreObjects === false ? 0 : manifest.objects.length,
      migratedTo: lastMigration,
      durationMs: Math.round(performance.now() - started),
    };
  } catch (error) {
    failure = error as Error;
    await session.query(sql`rollback`).catch(() => undefined);
    throw error;
  } finally {
    await session.release(failure);
  }
}

/**
 * The target must not be ahead of the backup's migrations, and must hold no rows in the backup's
 * tables unless they are to be replaced.
 */
async function checkTarget(target: Db, manifest: Manifest, replace: boolean, schema?: string): Promise<void> {
  const applied = (await migrationStatus(target, schema)).filter((m) => m.executedAt).map((m) => m.name);
  const ahead = applied.filter((m) => !manifest.migrations.includes(m));
  if (ahead.length > 0) {
    throw new BackupRefusedError(
      `the target database is at migration ${applied.at(-1)}, newer than the backup's ${manifest.migrations.at(-1)}: restore into a new database (then run migrate latest)`,
    );
  }
  if (replace) return;
  const present = await tablesOf(target);
  for (const table of manifest.tables) {
    if (!present.has(table.name)) continue;
    const { rows: any } = await sql`select 1 from ${sql.id(table.name)} limit 1`.execute(target);
    if (any.length > 0) {
      throw new BackupRefusedError(
        `the target database is not empty (table ${table.name} has rows): restore into a new database, or pass --replace to replace its contents`,
      );
    }
  }
}

/** After migrating, every table of the backup must be there (schema comes from migrations only). */
async function checkTablesExist(target: Db, manifest: Manifest): Promise<void> {
  const present = await tablesOf(target);
  const missing = manifest.tables.filter((t) => !present.has(t.name)).map((t) => t.name);
  if (missing.length > 0) {
    throw new BackupRefusedError(
      `the backup holds tables the migrations do not create here: ${missing.join(', ')} (create them before restoring)`,
    );
  }
}

async function tablesOf(db: Db): Promise<Set<string>> {
  const { rows } = await sql<{ name: string }>`select c.relname as name from pg_class c
    where c.relnamespace = current_schema()::regnamespace and c.relkind in ('r', 'p') and not c.relispartition`.execute(
    db,
  );
  return new Set(rows.map((r) => r.name));
}

async function loadAll(
  deps: RestoreDeps,
  session: Session,
  manifest: Manifest,
  key: Uint8Array | undefined,
  options: RestoreOptions,
): Promise<{ name: string; rows: number }[]> {
  const order = foreignKeyOrder(
    manifest.tables.map((t) => t.name),
    await foreignKeys(session),
  );
  const byName = new Map(manifest.tables.map((t) => [t.name, t]));
  await session.query(sql`begin`);
  if (options.replace && manifest.tables.length > 0) {
    await session.query(sql`truncate ${sql.join(manifest.tables.map((t) => sql.id(t.name)))}`);
  }
  if (session.copy) await session.query(sql`create temp table opsbase_restore_lines (line json) on commit drop`);
  // Large tables load without their indexes, which are built once afterwards (COPY path only).
  const deferred = session.copy
    ? await dropIndexesForLoad(
        session,
        manifest.tables.filter((t) => t.rows >= DEFER_INDEXES_ROWS && t.partitions.length === 0).map((t) => t.name),
      )
    : [];
  const loaded: { name: string; rows: number }[] = [];
  for (const name of order) {
    deps.signal?.throwIfAborted();
    const table = byName.get(name) as ManifestTable;
    for (const partition of table.partitions) {
      await session.query(
        sql`create table if not exists ${sql.id(partition.name)} partition of ${sql.id(table.name)} ${partitionBound(partition.bound)}`,
      );
    }
    if (table.rows === 0) {
      // Nothing to load (its object was checked above, and the target's table is empty or truncated).
      deps.onProgress?.({ phase: 'table', table: name, rows: 0, bytes: 0, estimatedRows: 0, done: true });
      loaded.push({ name, rows: 0 });
      continue;
    }
    // The table was empty (or truncated above): the rows COPY reports are the rows it holds.
    const copied = await loadTable(deps, session, table, manifest.format, key);
    const count =
      copied ??
      Number((await session.query<{ n: string }>(sql`select count(*)::text as n from ${sql.id(name)}`))[0]?.n);
    if (count !== table.rows) {
      throw new BackupObjectError(table.key, `loaded ${count} rows into ${name}, the manifest says ${table.rows}`);
    }
    loaded.push({ name, rows: table.rows });
  }
  if (deferred.length > 0) {
    deps.onProgress?.({ phase: 'step', message: `building ${deferred.length} indexes and keys` });
    await rebuildIndexes(session);
  }
  await resetSequences(session, manifest);
  if (options.restoreObjects !== false) {
    deps.onProgress?.({ phase: 'step', message: `putting back ${manifest.objects.length} files` });
    for (const object of manifest.objects) await copyObject(deps.storage, object.backupKey, object.key, deps.signal);
  }
  await session.query(sql`commit`);
  return loaded;
}

/**
 * A partition bound as pg_get_expr printed it ("FOR VALUES FROM (...) TO (...)", "IN (...)",
 * "WITH (MODULUS m, REMAINDER r)", "DEFAULT"), rebuilt from its values. It came from the
 * manifest, which a restore must not trust with SQL: only literals (quoted strings, numbers,
 * MINVALUE, MAXVALUE, NULL) are accepted, and each goes back through sql.lit.
 */
export function partitionBound(bound: string) {
  if (bound === 'DEFAULT') return sql`default`;
  const range = /^FOR VALUES FROM \((.*)\) TO \((.*)\)$/s.exec(bound);
  if (range)
    return sql`for values from (${boundValues(range[1] ?? '', bound)}) to (${boundValues(range[2] ?? '', bound)})`;
  const list = /^FOR VALUES IN \((.*)\)$/s.exec(bound);
  if (list) return sql`for values in (${boundValues(list[1] ?? '', bound)})`;
  const hash = /^FOR VALUES WITH \(modulus (\d+), remainder (\d+)\)$/i.exec(bound);
  if (hash) return sql`for values with (modulus ${sql.lit(Number(hash[1]))}, remainder ${sql.lit(Number(hash[2]))})`;
  throw new Error(`unexpected partition bound in the manifest: ${bound}`);
}

const BOUND_VALUE = /\s*(?:'((?:[^']|'')*)'(?:::[a-z ]+)?|(-?\d+(?:\.\d+)?)|(MINVALUE|MAXVALUE|NULL))\s*(?:,|$)/gy;

/** The comma-separated literals of one bound list, each as sql.lit (or the keyword itself). */
function boundValues(text: string, bound: string) {
  const values = [];
  BOUND_VALUE.lastIndex = 0;
  while (BOUND_VALUE.lastIndex < text.length) {
    const start = BOUND_VALUE.lastIndex;
    const match = BOUND_VALUE.exec(text);
    if (!match || match.index !== start) throw new Error(`unexpected partition bound in the manifest: ${bound}`);
    const [, quoted, number, keyword] = match;
    if (quoted !== undefined) values.push(sql.lit(quoted.replaceAll("''", "'")));
    else if (number !== undefined) values.push(sql.lit(Number(number)));
    else values.push(keyword === 'MINVALUE' ? sql`minvalue` : keyword === 'MAXVALUE' ? sql`maxvalue` : sql`null`);
  }
  if (values.length === 0) throw new Error(`unexpected partition bound in the manifest: ${bound}`);
  return sql.join(values);
}

async function loadTable(
  deps: RestoreDeps,
  session: Session,
  table: ManifestTable,
  format: BackupFormat,
  key: Uint8Array | undefined,
): Promise<number | undefined> {
  const reader = readTable(deps.storage, table, key, deps.signal, { rowHash: false });
  const load = loadSelect(table);
  let rows = 0;
  let bytes = 0;
  // the rows COPY reports inserting, on the path that COPYs straight into the table
  let inserted: number | undefined;
  const report = (done: boolean) =>
    deps.onProgress?.({ phase: 'table', table: table.name, rows, bytes, estimatedRows: table.rows, done });
  report(false);
  const copyColumns = session.copy ? await copyColumnsOf(session, table, arraysAsText(format)) : undefined;
  if (copyColumns) {
    // Each JSON line turned into a COPY text row here, streamed straight into the table.
    const converted = jsonLinesToCopy(
      copyColumns,
      (async function* () {
        for await (const chunk of reader.lines) {
          bytes += chunk.byteLength;
          yield chunk;
        }
      })(),
    );
    inserted = await session.copyIn(
      sql`copy ${sql.id(table.name)} (${load.columns}) from stdin`,
      (async function* () {
        try {
          for await (const chunk of converted.bytes) {
            rows = converted.rows();
            report(false);
            yield chunk;
          }
        } catch (error) {
          if (error instanceof CopyTextError) throw new BackupObjectError(table.key, error.message, { cause: error });
          throw error;
        }
      })(),
    );
  } else if (session.copy) {
    // A column type the converter leaves alone: COPY the lines into a staging table, then one
    // set-based insert through json_populate_record.
    await session.query(sql`truncate opsbase_restore_lines`);
    await session.copyIn(
      sql`copy opsbase_restore_lines (line) from stdin ${COPY_LINES}`,
      (async function* () {
        for await (const chunk of reader.lines) {
          bytes += chunk.byteLength;
          yield chunk;
        }
      })(),
    );
    await session.query(sql`insert into ${sql.id(table.name)} (${load.columns}) overriding system value
      select ${load.expressions} from opsbase_restore_lines cross join lateral ${load.record} r`);
    rows = table.rows;
  } else {
    for await (const lines of splitLines(reader.lines, BATCH_BYTES)) {
      const batch = `[${lines.join(',')}]`;
      await session.query(sql`insert into ${sql.id(table.name)} (${load.columns}) overriding system value
        select ${load.expressions} from json_array_elements(${batch}::json) as e(line) cross join lateral ${load.record} r`);
      rows += lines.length;
      bytes += batch.length;
      report(false);
    }
  }
  reader.check();
  report(true);
  return inserted;
}

/**
 * How each of the table's columns (as the target has them) turns from JSON into COPY text, or
 * undefined when one has a type the converter does not take on (composite types, domains; in
 * format 1 also arrays of json or of types not delimited by commas): that table loads through
 * json_populate_record. `arraysAsText`: the backup carries array-like columns as their text
 * (format 2), a string like any other scalar's.
 */
async function copyColumnsOf(
  session: Session,
  table: ManifestTable,
  arraysAsText: boolean,
): Promise<CopyColumn[] | undefined> {
  const types = await session.query<{ name: string; kind: CopyColumn['kind'] | null }>(sql`
    select a.attname as name, case
        when t.typcategory = 'A' and ${arraysAsText} then 'scalar'
        when t.typtype in ('b', 'e', 'r', 'm') and t.typcategory <> 'A' then 'scalar'
        when t.typcategory = 'A' and e.typtype in ('b', 'e', 'r', 'm') and e.typcategory <> 'A'
          and e.typname not in ('json', 'jsonb') and e.typdelim = ',' then 'array'
      end as kind
    from pg_attribute a join pg_type t on t.oid = a.atttypid left join pg_type e on e.oid = t.typelem
    where a.attrelid = ${regclass(table.name)} and a.attnum > 0 and not a.attisdropped`);
  const kinds = new Map(types.map((t) => [t.name, t.kind]));
  const columns: CopyColumn[] = [];
  for (const column of table.columns) {
    const kind = kinds.get(column.name);
    if (!kind) return undefined;
    columns.push({ name: column.name, kind });
  }
  return columns;
}

/** Sequences as the snapshot had them, and never behind the ids now in their columns. */
async function resetSequences(session: Session, manifest: Manifest): Promise<void> {
  for (const sequence of manifest.sequences) {
    if (sequence.lastValue === null) continue;
    await session.query(sql`select setval(${regclass(sequence.name)}, ${sequence.lastValue}::bigint, true)`);
  }
  for (const table of manifest.tables) {
    const owned = await session.query<{ column: string; sequence: string }>(sql`
      select a.attname as column, pg_get_serial_sequence(${quotedName(table.name)}, a.attname) as sequence
      from pg_attribute a where a.attrelid = ${regclass(table.name)} and a.attnum > 0 and not a.attisdropped
        and pg_get_serial_sequence(${quotedName(table.name)}, a.attname) is not null`);
    for (const { column, sequence } of owned) {
      const max = sql`(select max(${sql.id(column)}) from ${sql.id(table.name)})`;
      await session.query(sql`select setval(${sequence}::regclass, ${max}, true)
        where ${max} > coalesce(pg_sequence_last_value(${sequence}::regclass), 0)`);
    }
  }
}
