import { Command } from 'commander';
import { migrateCommand } from './commands/migrate.ts';

const program = new Command('opsbase')
  .description('Opsbase operations CLI. Reads the same environment (and ./.env) as the server.')
  .showHelpAfterError()
  .exitOverride((error) => {
    // commander exits 0 for --help/--version and 1 for usage errors; keep that.
    process.exit(error.exitCode);
  });

program.addCommand(migrateCommand());

await program.parseAsync(process.argv);
