import type { Config } from '../config.ts';
import type { JobContext, JobDefinition } from '../jobs/types.ts';
import type { Storage } from '../storage.ts';
import { createBackup } from './create.ts';
import { newestComplete } from './list.ts';
import { pruneBackups } from './prune.ts';
import { failedBackupIds } from './repository.ts';
import { verifyBackup } from './verify.ts';

function storageOf(ctx: JobContext): Storage {
  if (!ctx.storage) throw new Error('S3_ENDPOINT is not set: backups need S3-compatible storage');
  return ctx.storage;
}

/** Schedulers leave the backup jobs out (and say why) until storage is configured. */
function storageUnconfigured(config: Config): string | null {
  return config.s3 ? null : 'S3_ENDPOINT is not set: backups need S3-compatible storage';
}

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** The daily backup: one backup (the runner holds the db_backup lease), then retention. */
export const dbBackup: JobDefinition = {
  name: 'db_backup',
  schedule: '0 2 * * *',
  timeoutMs: 3 * 3600_000,
  description:
    'Backs up every table (except BACKUP_EXCLUDE_TABLES) to S3 under BACKUP_PREFIX, then prunes past BACKUP_KEEP_DAYS',
  unconfigured: storageUnconfigured,
  async handler(ctx) {
    const storage = storageOf(ctx);
    const { id, manifest } = await createBackup(
      {
        db: ctx.db,
        storage,
        settings: ctx.config.backup,
        logger: ctx.logger,
        commit: ctx.config.deployCommit,
        signal: ctx.signal,
      },
      { trigger: 'job', holder: 'job db_backup' },
    );
    const plan = await pruneBackups(
      { storage, settings: ctx.config.backup, logger: ctx.logger, signal: ctx.signal },
      { failedIds: await failedBackupIds(ctx.db) },
    );
    return {
      recordsProcessed: manifest.totals.rows,
      message: `backup ${id}: ${manifest.tables.length} tables, ${manifest.totals.rows} rows, ${megabytes(manifest.totals.bytes)}; pruned ${plan.remove.length} (${plan.remove.map((r) => r.id).join(', ') || 'none'})`,
    };
  },
};

/** The weekly proof: verify the newest complete backup and restore it into a scratch database. */
export const backupVerify: JobDefinition = {
  name: 'backup_verify',
  schedule: '0 4 * * 0',
  timeoutMs: 3 * 3600_000,
  description: 'Verifies the newest complete backup and restores it into a scratch database (restore drill)',
  unconfigured: storageUnconfigured,
  async handler(ctx) {
    const storage = storageOf(ctx);
    const id = await newestComplete(storage, ctx.config.backup.prefix, ctx.signal);
    if (!id) throw new Error('there is no complete backup to verify');
    const result = await verifyBackup(
      {
        db: ctx.db,
        storage,
        settings: ctx.config.backup,
        logger: ctx.logger,
        scratchDatabase: ctx.scratchDatabase,
        signal: ctx.signal,
      },
      id,
      { drill: true },
    );
    if (!result.ok) throw new Error(`backup ${id} failed verification: ${result.problems.join('; ')}`);
    return { recordsProcessed: 1, message: `backup ${id} verified with a restore drill` };
  },
};
