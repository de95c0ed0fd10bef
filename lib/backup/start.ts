import type { BackupTrigger } from '../../schema/database.ts';
import { DEFAULT_LEASE_MS } from '../jobs/lease.ts';
import { type BackupDeps, type BackupSummary, beginBackup } from './create.ts';
import { acquireBackupLease } from './repository.ts';

/**
 * A backup started by a person (CLI, admin API): takes the backup lease first, so it is refused
 * with BackupRunningError while any other backup runs (the db_backup job holds the same lease),
 * and keeps it renewed while the backup runs.
 * Resolves with the id once it is recorded as running; `done` settles when it ends and the
 * lease is released.
 */
export async function startBackup(
  deps: BackupDeps,
  run: { trigger: BackupTrigger; holder: string; leaseMs?: number },
): Promise<{ id: string; done: Promise<BackupSummary> }> {
  const lease = await acquireBackupLease(deps.db, run.holder, {
    leaseMs: run.leaseMs ?? DEFAULT_LEASE_MS,
    logger: deps.logger,
  });
  // A backup whose lease was taken over stops (another holder is making one now).
  const signal = deps.signal ? eitherSignal(deps.signal, lease.lost) : lease.lost;
  try {
    const { id, done } = await beginBackup({ ...deps, signal }, run);
    return {
      id,
      done: done.finally(() =>
        lease
          .release()
          .catch((error: Error) =>
            deps.logger.error('could not release the backup lease; it expires by itself', { error: error.message }),
          ),
      ),
    };
  } catch (error) {
    await lease.release();
    throw error;
  }
}

function eitherSignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  const controller = new AbortController();
  for (const signal of [a, b]) {
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  }
  return controller.signal;
}
