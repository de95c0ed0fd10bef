import { hostname } from 'node:os';
import { Command } from 'commander';
import { backupViews, newestComplete } from '../../lib/backup/list.ts';
import { pruneBackups } from '../../lib/backup/prune.ts';
import { backupRows, closeAbandonedBackups, failedBackupIds } from '../../lib/backup/repository.ts';
import { restoreBackup } from '../../lib/backup/restore.ts';
import { startBackup } from '../../lib/backup/start.ts';
import { verifyBackup } from '../../lib/backup/verify.ts';
import type { Config } from '../../lib/config.ts';
import { createDb, createPool, type Db } from '../../lib/db/connection.ts';
import { createLogger } from '../../lib/logger.ts';
import { createStorage, type Storage } from '../../lib/storage.ts';
import { cliConfig, withDatabase } from './context.ts';
import { formatBytes, peakMemory, progressRenderer } from './progress.ts';
import { printTable } from './table.ts';

function storageOf(config: Config): Storage {
  if (!config.s3) throw new Error('S3_ENDPOINT is not set: backups need S3-compatible storage');
  return createStorage(config.s3);
}

/** Runs with config, storage, a quiet logger and progress output; stops the bars whatever happens. */
async function withBackupContext<T>(
  run: (ctx: {
    config: Config;
    storage: Storage;
    logger: ReturnType<typeof createLogger>;
    progress: ReturnType<typeof progressRenderer>;
  }) => Promise<T>,
): Promise<T> {
  const config = cliConfig();
  const storage = storageOf(config);
  const logger = createLogger(config.logLevel === 'debug' ? 'debug' : 'error', { cli: 'backup' });
  const progress = progressRenderer();
  try {
    return await run({ config, storage, logger, progress });
  } finally {
    progress.stop();
  }
}

const holder = () => `${hostname()}:${process.pid}:cli`;

export function backupCommand(): Command {
  const backup = new Command('backup').description('Back up to S3, list, verify, restore and prune backups');

  backup
    .command('create')
    .description('Make a backup now (refused while another backup runs)')
    .action(async () => {
      await withBackupContext(async ({ config, storage, logger, progress }) =>
        withDatabase(config, async (db) => {
          const { id, done } = await startBackup(
            {
              db,
              storage,
              settings: config.backup,
              logger,
              commit: config.deployCommit,
              onProgress: progress.onProgress,
            },
            { trigger: 'cli', holder: holder(), leaseMs: config.jobs.leaseMs },
          );
          const { manifest } = await done;
          progress.stop();
          console.log(
            `backup ${id} complete: ${manifest.tables.length} tables, ${manifest.totals.rows} rows, ${formatBytes(manifest.totals.bytes)}${manifest.encryption ? ', encrypted' : ''}, ${manifest.objects.length} files, in ${(manifest.durationMs / 1000).toFixed(1)} s, ${peakMemory()}`,
          );
        }),
      );
    });

  backup
    .command('list')
    .description('Backups in storage, newest first: id, time, size, tables, rows, state, verification')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      await withBackupContext(async ({ config, storage }) =>
        withDatabase(config, async (db) => {
          await closeAbandonedBackups(db);
          const views = await backupViews(storage, config.backup.prefix, await backupRows(db));
          if (options.json) {
            console.log(JSON.stringify(views, null, 2));
            return;
          }
          if (views.length === 0) {
            console.log(`no backups under ${config.backup.prefix}/ in bucket ${storage.bucket}`);
            return;
          }
          const rows = [['ID', 'CREATED (UTC)', 'SIZE', 'TABLES', 'ROWS', 'STATE', 'VERIFIED']];
          for (const v of views) {
            rows.push([
              v.id,
              v.createdAt.replace('T', ' ').slice(0, 19),
              formatBytes(v.bytes),
              v.tables === null ? '-' : String(v.tables),
              v.rows === null ? '-' : String(v.rows),
              `${v.state}${v.encrypted ? ' (encrypted)' : ''}`,
              v.verification
                ? `${v.verification.ok ? 'ok' : 'FAILED'}${v.verification.drill ? ' +drill' : ''} ${v.verification.at.slice(0, 10)}`
                : '-',
            ]);
          }
          printTable(rows);
        }),
      );
    });

  backup
    .command('verify [id]')
    .description('Re-read every object of a backup (default: the newest complete) against its manifest')
    .option('--drill', 'also restore it into a scratch database and compare row counts and row hashes')
    .action(async (idArg: string | undefined, options: { drill?: boolean }) => {
      await withBackupContext(async ({ config, storage, logger, progress }) =>
        withDatabase(config, async (db) => {
          const id = idArg ?? (await newestComplete(storage, config.backup.prefix));
          if (!id) throw new Error('there is no complete backup to verify');
          const result = await verifyBackup(
            {
              db,
              storage,
              settings: config.backup,
              logger,
              // PGlite is loaded only when a drill needs it, not by every CLI command.
              scratchDatabase: async (source) =>
                (await import('../../local/scratch-database.ts')).nodeScratchDatabase(source),
              onProgress: progress.onProgress,
            },
            id,
            { drill: Boolean(options.drill) },
          );
          progress.stop();
          if (result.ok) console.log(`backup ${id}: verified${result.drill ? ' with a restore drill' : ''}`);
          else {
            console.error(`backup ${id}: FAILED verification`);
            for (const problem of result.problems) console.error(`  ${problem}`);
            process.exitCode = 1;
          }
        }),
      );
    });

  backup
    .command('restore <id>')
    .description('Restore a backup ("latest" for the newest complete) into an empty database')
    .option('--target <url>', 'the database to restore into (default: DATABASE_URL / the local stack)')
    .option('--replace', 'replace the contents of a non-empty target, in one transaction')
    .action(async (idArg: string, options: { target?: string; replace?: boolean }) => {
      await withBackupContext(async ({ config, storage, logger, progress }) => {
        const id = idArg === 'latest' ? await newestComplete(storage, config.backup.prefix) : idArg;
        if (!id) throw new Error('there is no complete backup to restore');
        const restore = async (target: Db) => {
          const summary = await restoreBackup(
            {
              target,
              storage,
              prefix: config.backup.prefix,
              encryptionKey: config.backup.encryptionKey,
              logger,
              onProgress: progress.onProgress,
            },
            id,
            { replace: Boolean(options.replace) },
          );
          progress.stop();
          console.log(
            `restored backup ${id}: ${summary.tables.length} tables, ${summary.rows} rows, ${summary.objects} files, migrated to ${summary.migratedTo ?? '(none)'}, in ${(summary.durationMs / 1000).toFixed(1)} s, ${peakMemory()}`,
          );
        };
        if (!options.target) return withDatabase(config, restore);
        const target = createDb(createPool(options.target, { max: 2, ssl: config.databaseSsl }));
        try {
          await restore(target);
        } finally {
          await target.destroy();
        }
      });
    });

  backup
    .command('prune')
    .description('Delete backups past retention (BACKUP_KEEP_DAYS, BACKUP_KEEP_COUNT; never the newest verified)')
    .option('--dry-run', 'only show what would be deleted')
    .action(async (options: { dryRun?: boolean }) => {
      await withBackupContext(async ({ config, storage, logger }) =>
        withDatabase(config, async (db) => {
          const plan = await pruneBackups(
            { storage, settings: config.backup, logger },
            { dryRun: Boolean(options.dryRun), failedIds: await failedBackupIds(db) },
          );
          const verb = options.dryRun ? 'would delete' : 'deleted';
          for (const r of plan.remove) console.log(`${verb} ${r.id}: ${r.reason} (${formatBytes(r.bytes)})`);
          for (const k of plan.keep) console.log(`kept ${k.id}: ${k.reason}`);
          for (const u of plan.staleUploads)
            console.log(`${options.dryRun ? 'would abort' : 'aborted'} upload of ${u.key}`);
          if (plan.remove.length === 0) console.log('nothing to delete');
        }),
      );
    });

  return backup;
}
