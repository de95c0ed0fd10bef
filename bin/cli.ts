import { Command } from 'commander';

/**
 * Each command's module, loaded only when asked for: a module brings its part of the app (the
 * backup code, the HTTP app for alerts, PGlite...), and a long `backup create` should not carry
 * the rest in memory. Help and unknown names load them all.
 */
const COMMANDS = new Map<string, () => Promise<Command>>([
  ['migrate', async () => (await import('./commands/migrate.ts')).migrateCommand()],
  ['user', async () => (await import('./commands/user.ts')).userCommand()],
  ['cron', async () => (await import('./commands/cron.ts')).cronCommand()],
  ['logs', async () => (await import('./commands/logs.ts')).logsCommand()],
  ['backup', async () => (await import('./commands/backup.ts')).backupCommand()],
  ['alerts', async () => (await import('./commands/alerts.ts')).alertsCommand()],
  ['seed', async () => (await import('./commands/seed.ts')).seedCommand()],
  ['telegram', async () => (await import('./commands/telegram.ts')).telegramCommand()],
]);

const program = new Command('opsbase')
  .description('Opsbase operations CLI. Reads the same environment (and ./.env) as the server.')
  .showHelpAfterError()
  .exitOverride((error) => {
    // commander exits 0 for --help/--version and 1 for usage errors; keep that.
    process.exit(error.exitCode);
  });

try {
  const named = COMMANDS.get(process.argv[2] ?? '');
  for (const load of named ? [named] : COMMANDS.values()) program.addCommand(await load());
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
