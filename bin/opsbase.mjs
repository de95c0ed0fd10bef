#!/usr/bin/env node
// The `opsbase` CLI. TypeScript runs through tsx's loader, so there is no build step.

// Memory settings for a long streaming backup or restore, which V8 and the C library read only at
// startup, so the process replaces itself with one started with them (same pid, stdio and
// signals; measured in the README's Performance section, `backup` peak RSS):
// - a young generation of 2 x 2 MB semi-spaces instead of V8's 2 x 16 MB: the larger nursery
//   held ~50 MB more of short-lived chunks and rows (and the buffers they point to) at peak RSS,
//   without being faster;
// - two glibc malloc arenas instead of up to 8 per core: memory freed by the threadpool's threads
//   (gzip) stays in their arenas; ~8 MB less peak RSS in a 5M-row backup (130-136 vs 138-144 MB,
//   137-149 vs 145-151 encrypted). Ignored by other C libraries (musl, on Alpine).
// Only the commands that stream backups do this (a second start of node costs ~40 ms); nor does
// it where process.execve is missing (Windows), or when NODE_OPTIONS or the node command line
// already sets the young generation's size.
const YOUNG_GENERATION = '--max-semi-space-size=2';
const [command, subcommand, job] = process.argv.slice(2);
const streamsBackups =
  command === 'backup' || (command === 'cron' && subcommand === 'run' && /^(db_backup|backup_verify)$/.test(job ?? ''));
const sizeSet = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((flag) =>
  /^--max[-_]semi[-_]space[-_]size\b/.test(flag),
);
if (streamsBackups && !sizeSet && typeof process.execve === 'function') {
  process.execve(
    process.execPath,
    [process.execPath, YOUNG_GENERATION, ...process.execArgv, ...process.argv.slice(1)],
    { MALLOC_ARENA_MAX: '2', ...process.env },
  );
}

const { register } = await import('tsx/esm/api');
register();
await import('./cli.ts');
