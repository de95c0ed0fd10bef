import { sql } from 'kysely';
import type { BackupTrigger } from '../../schema/database.ts';
import type { BackupSettings } from '../config.ts';
import type { Db } from '../db/connection.ts';
import type { Logger } from '../logger.ts';
import { APP_VERSION } from '../runtime.ts';
import type { Storage } from '../storage.ts';
import { describeTable, exportLines, listTables, NEVER_BACKED_UP, readSequences, type TableInfo } from './catalog.ts';
import { type Bytes, gzip, tally } from './codec.ts';
import { CHUNK_BYTES, encrypt, keyFingerprint } from './encryption.ts';
import {
  arraysAsText,
  type BackupFormat,
  backupKeys,
  FORMAT,
  type Manifest,
  type ManifestObject,
  type ManifestTable,
  newBackupId,
} from './manifest.ts';
import { OBJECT_REFERENCES, type ObjectReference } from './object-refs.ts';
import type { BackupProgress } from './progress.ts';
import { closeRunningBackups, finishBackup, insertRunningBackup } from './repository.ts';
import { openSession, type Session } from './session.ts';
import { abortOpenUploads, copyObject, headObject, putJson, uploadObject } from './store.ts';

export type BackupDeps = {
  db: Db;
  storage: Storage;
  settings: BackupSettings;
  logger: Logger;
  /** DEPLOY_COMMIT, recorded in the manifest. */
  commit?: string;
  /** Defaults to OBJECT_REFERENCES. */
  objectReferences?: readonly ObjectReference[];
  /** Rows per FETCH on the portable path (PGlite, Workers). */
  batchRows?: number;
  /** Connections reading tables side by side on the COPY path (default 2; memory ~45 MB each). */
  parallelReaders?: number;
  onProgress?: (event: BackupProgress) => void;
  signal?: AbortSignal;
  /** The format written: FORMAT; the previous one only where tests make backups as older versions did. */
  format?: BackupFormat;
};

export type BackupSummary = { id: string; manifest: Manifest };

/**
 * Makes one backup: every table in one REPEATABLE READ, READ ONLY snapshot, each streamed in
 * primary-key order as JSON lines -> gzip -> (AES-256-GCM) -> a (multipart) upload, then the
 * files rows refer to, then manifest.json last. The caller holds the backup lease. Recorded in
 * the backups table as running, then complete or failed (with the error, which is rethrown).
 */
export async function createBackup(
  deps: BackupDeps,
  run: { trigger: BackupTrigger; holder: string },
): Promise<BackupSummary> {
  return (await beginBackup(deps, run)).done;
}

/**
 * Records the backup as running and starts it: resolves with its id at once, and `done` when it
 * has finished (for callers that answer before it ends, like the admin API).
 */
export async function beginBackup(
  deps: BackupDeps,
  run: { trigger: BackupTrigger; holder: string },
): Promise<{ id: string; done: Promise<BackupSummary> }> {
  // The caller holds the backup lease: a backup still `running` was cut off with its process.
  for (const interrupted of await closeRunningBackups(deps.db)) {
    deps.logger.warn('a backup was interrupted (its process stopped); recorded as failed', { id: interrupted });
    await abortOpenUploads(deps.storage, backupKeys(deps.settings.prefix, interrupted).root).catch((error: Error) =>
      deps.logger.warn("could not abort the interrupted backup's upload; prune will", {
        id: interrupted,
        error: error.message,
      }),
    );
  }
  const id = newBackupId();
  await insertRunningBackup(deps.db, {
    id,
    trigger: run.trigger,
    holder: run.holder,
    encrypted: Boolean(deps.settings.encryptionKey),
  });
  return { id, done: runBackup(deps, id) };
}

async function runBackup(deps: BackupDeps, id: string): Promise<BackupSummary> {
  try {
    const manifest = await writeBackup(deps, id);
    await finishBackup(deps.db, id, {
      status: 'complete',
      bytes: manifest.totals.bytes,
      tables: manifest.tables.length,
      rows: manifest.totals.rows,
    });
    deps.logger.info('backup complete', { id, tables: manifest.tables.length, ...manifest.totals });
    return { id, manifest };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // An upload cut off half way leaves parts behind; abort them now if storage still answers
    // (else prune does, knowing from the index that this backup failed).
    await abortOpenUploads(deps.storage, backupKeys(deps.settings.prefix, id).root).catch((abortError: Error) =>
      deps.logger.warn("could not abort the failed backup's upload; prune will", { id, error: abortError.message }),
    );
    await finishBackup(deps.db, id, { status: 'failed', error: message }).catch((recordError: Error) =>
      deps.logger.error('could not record the failed backup', { id, error: recordError.message }),
    );
    deps.logger.warn('backup failed', { id, error: message });
    throw error;
  }
}

async function writeBackup(deps: BackupDeps, id: string): Promise<Manifest> {
  const { settings, storage, signal } = deps;
  const keys = backupKeys(settings.prefix, id);
  const startedAt = new Date();
  const encryption = settings.encryptionKey
    ? {
        algorithm: 'AES-256-GCM' as const,
        chunkBytes: CHUNK_BYTES,
        keyFingerprint: await keyFingerprint(settings.encryptionKey),
      }
    : null;

  const session = await openSession(deps.db);
  let failure: Error | undefined;
  try {
    await session.query(sql`begin isolation level repeatable read read only`);
    // The first statement takes the snapshot; its clock time is after every row the backup holds.
    const [snapshot] = await session.query<{ at: string }>(
      sql`select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at`,
    );
    const migrations = await session.query<{ name: string }>(sql`select name from opsbase_migrations order by name`);
    const all = await listTables(session);
    const skipped = new Set([...NEVER_BACKED_UP, ...settings.excludeTables]);
    const infos: TableInfo[] = [];
    const format = deps.format ?? FORMAT;
    for (const name of all.filter((t) => !skipped.has(t))) {
      infos.push(await describeTable(session, name, arraysAsText(format)));
    }
    const sequences = await readSequences(session);

    const tables = await backupTables(deps, session, infos, (name) => keys.table(name, Boolean(encryption)));
    const { objects, missing } = await copyReferencedObjects(deps, session, infos, keys.object);
    await session.query(sql`commit`);

    const finishedAt = new Date();
    const manifest: Manifest = {
      format,
      id,
      createdAt: startedAt.toISOString(),
      snapshotAt: snapshot?.at ?? startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      app: { version: APP_VERSION, commit: deps.commit ?? null },
      server: session.server,
      migrations: migrations.map((m) => m.name),
      tables,
      excludedTables: all.filter((t) => settings.excludeTables.includes(t)),
      sequences,
      objects,
      missingObjects: missing,
      compression: { algorithm: 'gzip', level: settings.gzipLevel },
      encryption,
      totals: {
        rows: tables.reduce((n, t) => n + t.rows, 0),
        bytes: tables.reduce((n, t) => n + t.bytes, 0) + objects.reduce((n, o) => n + o.bytes, 0),
      },
    };
    // Last: only a backup whose every object is stored gets a manifest.
    await putJson(storage, keys.manifest, manifest, signal);
    return manifest;
  } catch (error) {
    failure = error as Error;
    throw error;
  } finally {
    await session.release(failure);
  }
}

/** Server sessions reading tables at once on the COPY path (the server encodes JSON per backend). */
const PARALLEL_READERS = 2;

/**
 * Every table, in manifest order. On the COPY path a second connection joins the same snapshot
 * (pg_export_snapshot / SET TRANSACTION SNAPSHOT, as pg_dump -j does) and the two read tables
 * side by side, largest first; elsewhere one connection reads them in turn.
 */
async function backupTables(
  deps: BackupDeps,
  session: Session,
  infos: TableInfo[],
  keyFor: (table: string) => string,
): Promise<ManifestTable[]> {
  const readers: Session[] = [session];
  const done = new Map<string, ManifestTable>();
  let failure: Error | undefined;
  try {
    if (session.copy && infos.length > 1) {
      const [exported] = await session.query<{ id: string }>(sql`select pg_export_snapshot() as id`);
      for (let i = 1; i < (deps.parallelReaders ?? PARALLEL_READERS); i++) {
        const reader = await openSession(deps.db);
        readers.push(reader);
        await reader.query(sql`begin isolation level repeatable read read only`);
        await reader.query(sql`set transaction snapshot ${sql.lit(exported?.id ?? '')}`);
      }
    }
    const queue = [...infos].sort((a, b) => b.estimatedRows - a.estimatedRows);
    await Promise.all(
      readers.map(async (reader) => {
        for (let info = queue.shift(); info; info = queue.shift()) {
          deps.signal?.throwIfAborted();
          done.set(info.name, await backupTable(deps, reader, info, keyFor(info.name)));
        }
      }),
    );
  } catch (error) {
    failure = error as Error;
    throw error;
  } finally {
    for (const reader of readers.slice(1)) {
      if (!failure) await reader.query(sql`commit`).catch(() => undefined);
      await reader.release(failure);
    }
  }
  return infos.map((info) => done.get(info.name) as ManifestTable);
}

async function backupTable(deps: BackupDeps, session: Session, info: TableInfo, key: string): Promise<ManifestTable> {
  const { settings } = deps;
  const lines = exportLines(session, info, deps.batchRows ?? 5000);
  const raw = tally(lines.bytes);
  const compressed = gzip(raw.bytes, settings.gzipLevel);
  const sealed = settings.encryptionKey ? encrypt(compressed, settings.encryptionKey) : compressed;
  const stored = tally(sealed);
  const progress = progressReporter(deps.onProgress, info, lines.rows);
  const watched = progress.watch(stored.bytes);
  const { parts } = await uploadObject(deps.storage, key, watched, {
    partSize: settings.partSize,
    contentType: settings.encryptionKey ? 'application/octet-stream' : 'application/gzip',
    signal: deps.signal,
  });
  const rawTally = raw.result();
  const storedTally = stored.result();
  progress.done(storedTally.bytes);
  return {
    name: info.name,
    key,
    rows: lines.rows(),
    bytes: storedTally.bytes,
    sha256: storedTally.sha256,
    rawBytes: rawTally.bytes,
    rowsSha256: rawTally.sha256,
    parts,
    columns: info.columns.map(({ name, type }) => ({ name, type })),
    primaryKey: info.primaryKey,
    partitions: info.partitions,
  };
}

const PROGRESS_EVERY_MS = 200;

function progressReporter(
  onProgress: BackupDeps['onProgress'],
  info: TableInfo,
  rows: () => number,
): { watch(source: Bytes): Bytes; done(bytes: number): void } {
  let bytes = 0;
  let last = 0;
  const emit = (done: boolean) =>
    onProgress?.({ phase: 'table', table: info.name, rows: rows(), bytes, estimatedRows: info.estimatedRows, done });
  return {
    watch: (source) =>
      (async function* () {
        emit(false);
        for await (const chunk of source) {
          bytes += chunk.byteLength;
          const now = Date.now();
          if (now - last >= PROGRESS_EVERY_MS) {
            last = now;
            emit(false);
          }
          yield chunk;
        }
      })(),
    done(total) {
      bytes = total;
      emit(true);
    },
  };
}

/**
 * Files rows refer to: every distinct key in the snapshot, copied inside the bucket. Keys are
 * read through a cursor, so memory holds one batch; the manifest lists each copied object.
 */
async function copyReferencedObjects(
  deps: BackupDeps,
  session: Session,
  tables: TableInfo[],
  backupKeyFor: (key: string) => string,
): Promise<{ objects: ManifestObject[]; missing: Manifest['missingObjects'] }> {
  const objects: ManifestObject[] = [];
  const missing: Manifest['missingObjects'] = [];
  for (const ref of deps.objectReferences ?? OBJECT_REFERENCES) {
    const table = tables.find((t) => t.name === ref.table);
    if (!table?.columns.some((c) => c.name === ref.keyColumn)) continue;
    const column = sql.id(ref.keyColumn);
    // Each key as a JSON string: a key may hold any character, a newline included.
    const query = sql<{ line: string }>`select distinct to_json(${column}::text)::text as line
      from ${sql.id(ref.table)} where ${column} is not null order by 1`;
    let copied = 0;
    for await (const chunk of session.cursorLines(query, 500)) {
      const keys = new TextDecoder()
        .decode(chunk)
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as string);
      await forEachLimited(keys, 4, async (key) => {
        deps.signal?.throwIfAborted();
        const head = await headObject(deps.storage, key, deps.signal);
        if (!head) {
          missing.push({ table: ref.table, column: ref.keyColumn, key });
          return;
        }
        const backupKey = backupKeyFor(key);
        await copyObject(deps.storage, key, backupKey, deps.signal);
        objects.push({
          table: ref.table,
          column: ref.keyColumn,
          key,
          backupKey,
          bytes: head.bytes,
          etag: head.etag ?? null,
        });
      });
      copied += keys.length;
      deps.onProgress?.({ phase: 'objects', table: ref.table, copied });
    }
  }
  if (missing.length > 0) {
    deps.logger.warn('rows refer to objects that are not in storage', {
      count: missing.length,
      example: missing[0]?.key,
    });
  }
  return { objects, missing };
}

export async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(workers);
}
