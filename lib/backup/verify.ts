import type { BackupSettings } from '../config.ts';
import type { Db } from '../db/connection.ts';
import type { Logger } from '../logger.ts';
import type { Storage } from '../storage.ts';
import { compareWithManifest, openScratch, type ScratchFactory } from './drill.ts';
import { backupKeys, type Verification } from './manifest.ts';
import type { BackupProgress } from './progress.ts';
import { checkKey, checkTable, loadManifest } from './read.ts';
import { recordVerification } from './repository.ts';
import { restoreBackup } from './restore.ts';
import { headObject, putJson } from './store.ts';

export type VerifyDeps = {
  /** The live database: the backups index is updated, and a drill's scratch database is made beside it. */
  db: Db;
  storage: Storage;
  settings: BackupSettings;
  logger: Logger;
  scratchDatabase?: ScratchFactory;
  onProgress?: (event: BackupProgress) => void;
  signal?: AbortSignal;
};

export type VerifyResult = Verification & { id: string };

/**
 * Re-reads every object of a backup and checks it against the manifest (size, sha256, rows, row
 * hash; the files rows refer to by size). With `drill`, also restores it into a scratch database
 * and compares each table's row count and row hash with the source snapshot's. The outcome is
 * stored beside the manifest (verified.json) and in the backups index; problems name the object.
 */
export async function verifyBackup(
  deps: VerifyDeps,
  id: string,
  options: { drill?: boolean } = {},
): Promise<VerifyResult> {
  const { storage, settings, signal } = deps;
  const problems: string[] = [];
  const manifest = await loadManifest(storage, settings.prefix, id, signal);
  const key = await checkKey(manifest, settings.encryptionKey);
  for (const table of manifest.tables) {
    signal?.throwIfAborted();
    let rows = 0;
    let bytes = 0;
    try {
      await checkTable(
        storage,
        table,
        key,
        (n) => {
          bytes += n;
          deps.onProgress?.({ phase: 'table', table: table.name, rows, bytes, estimatedRows: table.rows, done: false });
        },
        signal,
      );
      rows = table.rows;
      deps.onProgress?.({ phase: 'table', table: table.name, rows, bytes, estimatedRows: table.rows, done: true });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      problems.push(message.includes(table.key) ? message : `${table.key}: ${message}`);
    }
  }
  for (const object of manifest.objects) {
    const head = await headObject(storage, object.backupKey, signal);
    if (!head) problems.push(`${object.backupKey}: missing from storage`);
    else if (head.bytes !== object.bytes)
      problems.push(`${object.backupKey}: ${head.bytes} bytes, the manifest says ${object.bytes}`);
  }

  if (options.drill && problems.length === 0) {
    deps.onProgress?.({ phase: 'step', message: 'restore drill: restoring into a scratch database' });
    const scratch = await openScratch(deps.db, settings.drillDatabaseUrl, deps.scratchDatabase);
    try {
      await restoreBackup(
        {
          target: scratch.db,
          storage,
          prefix: settings.prefix,
          encryptionKey: settings.encryptionKey,
          logger: deps.logger,
          onProgress: deps.onProgress,
          signal,
        },
        id,
        { restoreObjects: false },
      );
      deps.onProgress?.({ phase: 'step', message: 'restore drill: comparing row counts and row hashes' });
      problems.push(...(await compareWithManifest(scratch.db, manifest)).map((p) => `drill: ${p}`));
    } catch (error) {
      problems.push(`drill: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      await scratch
        .drop()
        .catch((error: Error) =>
          deps.logger.warn('could not drop the drill database', { scratch: scratch.describe, error: error.message }),
        );
    }
  }

  const verification: Verification = {
    at: new Date().toISOString(),
    ok: problems.length === 0,
    drill: Boolean(options.drill),
    problems,
  };
  await putJson(storage, backupKeys(settings.prefix, id).verified, verification, signal);
  await recordVerification(deps.db, id, {
    ok: verification.ok,
    message: verification.ok ? `verified${verification.drill ? ' with a restore drill' : ''}` : problems.join('; '),
  }).catch((error: Error) => deps.logger.warn('could not record the verification', { id, error: error.message }));
  if (!verification.ok) deps.logger.warn('backup verification failed', { id, problems });
  return { id, ...verification };
}
