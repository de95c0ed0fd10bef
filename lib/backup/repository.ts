import { sql } from 'kysely';
import type { BackupRow, BackupTrigger } from '../../schema/database.ts';
import type { Db } from '../db/connection.ts';
import { ConflictError } from '../errors.ts';
import { type HeldLease, holdLease } from '../jobs/lease.ts';
import type { Logger } from '../logger.ts';

/**
 * The one lease every backup takes, whoever starts it (the db_backup job, the CLI, the admin
 * API): the job runner's lease row for db_backup, so two backups never run at once anywhere.
 */
export const BACKUP_LEASE = 'db_backup';

export class BackupRunningError extends ConflictError {
  override name = 'BackupRunningError';
}

/**
 * Takes the backup lease (renewed by a heartbeat until released, see holdLease) or throws
 * BackupRunningError naming who holds it.
 */
export async function acquireBackupLease(
  db: Db,
  holder: string,
  options: { leaseMs: number; logger: Logger },
): Promise<HeldLease> {
  const taken = await holdLease(db, BACKUP_LEASE, holder, options);
  if (!taken.acquired) {
    throw new BackupRunningError(
      `a backup is already running (${taken.holder}, lease until ${taken.lockedUntil.toISOString()})`,
    );
  }
  return taken.lease;
}

export async function insertRunningBackup(
  db: Db,
  row: { id: string; trigger: BackupTrigger; holder: string; encrypted: boolean },
): Promise<void> {
  await db
    .insertInto('backups')
    .values({ ...row, status: 'running' })
    .execute();
}

export async function finishBackup(
  db: Db,
  id: string,
  outcome: { status: 'complete'; bytes: number; tables: number; rows: number } | { status: 'failed'; error: string },
): Promise<void> {
  await db
    .updateTable('backups')
    .set({ ...outcome, finished_at: sql`now()` })
    .where('id', '=', id)
    .execute();
}

export async function recordVerification(db: Db, id: string, result: { ok: boolean; message: string }): Promise<void> {
  await db
    .updateTable('backups')
    .set({ verified_at: sql`now()`, verify_ok: result.ok, verify_message: result.message })
    .where('id', '=', id)
    .execute();
}

export async function getBackupRow(db: Db, id: string): Promise<BackupRow | undefined> {
  return db.selectFrom('backups').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Rows of this database's backups by id (running and failed ones have no manifest yet). */
export async function backupRows(db: Db, limit = 500): Promise<BackupRow[]> {
  return db.selectFrom('backups').selectAll().orderBy('id', 'desc').limit(limit).execute();
}

/** When the newest complete backup finished, for health. */
export async function newestCompleteBackup(db: Db): Promise<{ id: string; finishedAt: Date } | undefined> {
  const row = await db
    .selectFrom('backups')
    .select(['id', 'finished_at'])
    .where('status', '=', 'complete')
    .orderBy('finished_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.finished_at ? { id: row.id, finishedAt: row.finished_at } : undefined;
}

/** Rows left `running` by a process that died (no lease holds them any more) become failed. */
export async function closeAbandonedBackups(db: Db): Promise<number> {
  const result = await db
    .updateTable('backups')
    .set({ status: 'failed', error: 'interrupted: the process making it stopped', finished_at: sql`now()` })
    .where('status', '=', 'running')
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('job_locks')
            .select(sql`1`.as('one'))
            .where('job_name', '=', BACKUP_LEASE)
            .where('locked_until', '>=', sql<Date>`now()`),
        ),
      ),
    )
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * For the backup lease's holder: a row still `running` belongs to a process that died (only the
 * holder makes a backup), so it becomes failed. Returns the ids closed.
 */
export async function closeRunningBackups(db: Db): Promise<string[]> {
  const rows = await db
    .updateTable('backups')
    .set({ status: 'failed', error: 'interrupted: the process making it stopped', finished_at: sql`now()` })
    .where('status', '=', 'running')
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

/** Ids of backups this database recorded as failed (prune aborts their leftover uploads). */
export async function failedBackupIds(db: Db): Promise<Set<string>> {
  const rows = await db.selectFrom('backups').select('id').where('status', '=', 'failed').execute();
  return new Set(rows.map((r) => r.id));
}
