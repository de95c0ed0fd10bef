import { Command } from 'commander';
import { migrateCommand } from './commands/migrate.ts';
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

await program.parseAsync(process.argv);
