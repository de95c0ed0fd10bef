import { Command } from 'commander';
import { type MigrationRunResult, migrateDown, migrateToLatest, migrationStatus } from '../../lib/db/migrate.ts';
import { cliConfig, withDatabase } from './context.ts';

function report(run: MigrationRunResult, verb: string): void {
  for (const r of run.results) {
    const mark = r.status === 'Success' ? 'ok  ' : r.status === 'Error' ? 'FAIL' : 'skip';
    console.log(`${mark} ${verb} ${r.migrationName}`);
  }
  if (run.error) {
    const message = run.error instanceof Error ? run.error.message : String(run.error);
    console.error(`error: migration ${run.failedMigration ?? '(setup)'} failed: ${message}`);
    process.exitCode = 1;
  } else if (run.results.length === 0) {
    console.log(verb === 'up' ? 'Already up to date.' : 'Nothing to roll back.');
  }
}

export function migrateCommand(): Command {
  const migrate = new Command('migrate').description('Apply, inspect or roll back database migrations');

  migrate
    .command('latest')
    .description('Apply every pending migration (npm run migration:run)')
    .action(async () => {
      await withDatabase(cliConfig(), async (db) => report(await migrateToLatest(db), 'up'));
    });

  migrate
    .command('status')
    .description('List applied and pending migrations (npm run migration:show)')
    .action(async () => {
      await withDatabase(cliConfig(), async (db) => {
        const rows = await migrationStatus(db);
        for (const row of rows) {
          console.log(
            `${row.executedAt ? '[x]' : '[ ]'} ${row.name}${row.executedAt ? `  applied ${row.executedAt.toISOString()}` : '  pending'}`,
          );
        }
        const pending = rows.filter((r) => !r.executedAt).length;
        console.log(`${rows.length - pending} applied, ${pending} pending`);
      });
    });

  migrate
    .command('down')
    .description('Roll back the most recent migration')
    .action(async () => {
      await withDatabase(cliConfig(), async (db) => report(await migrateDown(db), 'down'));
    });

  return migrate;
}
