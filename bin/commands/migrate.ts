import { Command } from 'commander';
import type { Db } from '../../lib/db/connection.ts';
import { type MigrationRunResult, migrateDown, migrateToLatest, migrationStatus } from '../../lib/db/migrate.ts';
import { cliConfig, withDatabase } from './context.ts';

/** Names of the applied migrations, or undefined when the database cannot say (it is down). */
async function appliedMigrations(db: Db): Promise<Set<string> | undefined> {
  try {
    return new Set((await migrationStatus(db)).filter((m) => m.executedAt).map((m) => m.name));
  } catch {
    return undefined;
  }
}

/** Prints every step of a run; a failure names its migration on stderr and sets exit code 1. */
async function report(db: Db, run: MigrationRunResult, verb: 'up' | 'down'): Promise<void> {
  // Postgres runs the whole batch in one transaction, so when a step fails the steps Kysely
  // reported as done were undone with it: read back what is applied instead of claiming them.
  const applied = run.error ? await appliedMigrations(db) : undefined;
  for (const r of run.results) {
    const undone = r.status === 'Success' && applied !== undefined && applied.has(r.migrationName) !== (verb === 'up');
    const mark = r.status === 'Error' ? 'FAIL' : r.status === 'NotExecuted' ? 'skip' : undone ? 'undo' : 'ok  ';
    console.log(`${mark} ${verb} ${r.migrationName}${undone ? '  (rolled back: the run failed)' : ''}`);
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
      await withDatabase(cliConfig(), async (db) => report(db, await migrateToLatest(db), 'up'));
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
      await withDatabase(cliConfig(), async (db) => report(db, await migrateDown(db), 'down'));
    });

  return migrate;
}
