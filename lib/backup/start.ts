import type { BackupTrigger } from '../../schema/database.ts';
import { type BackupDeps, type BackupSummary, beginBackup } from './create.ts';
import { acquireBackupLease } from './repository.ts';

/**
 * A backup started by a person (CLI, admin API): takes the backup lease first, so it is refused
 * with BackupRunningError while any other backup runs (the db_backup job holds the same lease).
 * Resolves with the id once it is recorded as running; `done` settles when it ends and the
 * lease is released.
 */
export async function startBackup(
  deps: BackupDeps,
  run: { trigger: BackupTrigger; holder: string },
): Promise<{ id: string; done: Promise<BackupSummary> }> {
  const release = await acquireBackupLease(deps.db, run.holder);
  try {
    const { id, done } = await beginBackup(deps, run);
    return {
      id,
      done: done.finally(() =>
        release().catch((error: Error) =>
          deps.logger.error('could not release the backup lease; it expires by itself', { error: error.message }),
        ),
      ),
    };
  } catch (error) {
    await release();
    throw error;
  }
}
