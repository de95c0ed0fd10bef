import { Command } from 'commander';
import { alertsCommand } from './commands/alerts.ts';
import { backupCommand } from './commands/backup.ts';
import { cronCommand } from './commands/cron.ts';
import { logsCommand } from './commands/logs.ts';
import { migrateCommand } from './commands/migrate.ts';
import { seedCommand } from './commands/seed.ts';
import { telegramCommand } from './commands/telegram.ts';
import { userCommand } from './commands/user.ts';

const program = new Command('opsbase')
  .description('Opsbase operations CLI. Reads the same environment (and ./.env) as the server.')
  .showHelpAfterError()
  .exitOverride((error) => {
    // commander exits 0 for --help/--version and 1 for usage errors; keep that.
    process.exit(error.exitCode);
  });

program.addCommand(migrateCommand());
program.addCommand(userCommand());
program.addCommand(cronCommand());
program.addCommand(logsCommand());
program.addCommand(backupCommand());
program.addCommand(alertsCommand());
program.addCommand(seedCommand());
program.addCommand(telegramCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // One line a person can act on; the stack only when asked for (LOG_LEVEL=debug).
  const message = error instanceof Error ? error.message : String(error);
  console.error(`error: ${message}`);
  if ((error as { code?: string }).code === '42P01') {
    console.error(
      'The database schema is behind this version: run `npx opsbase migrate latest` (npm run migration:run).',
    );
  }
  if (process.env.LOG_LEVEL === 'debug' && error instanceof Error) console.error(error.stack);
  process.exit(1);
}
