#!/usr/bin/env node
// The `opsbase` CLI. TypeScript runs through tsx's loader, so there is no build step.

// A young generation of 2 x 2 MB semi-spaces instead of V8's 2 x 16 MB: a streaming backup
// allocates short-lived chunks and rows at a high rate, and the larger nursery only held ~30 MB
// more of them (and of the buffers they point to) at its peak RSS, without being faster. V8
// reads the size only at startup, so the process replaces itself with one started with it (same
// pid, stdio and signals). Where process.execve is missing (Windows), or when NODE_OPTIONS or the
// node command line already sets the size, it runs as it is.
const YOUNG_GENERATION = '--max-semi-space-size=2';
const sizeSet = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((flag) =>
  /^--max[-_]semi[-_]space[-_]size\b/.test(flag),
);
if (!sizeSet && typeof process.execve === 'function') {
  process.execve(process.execPath, [process.execPath, YOUNG_GENERATION, ...process.execArgv, ...process.argv.slice(1)]);
}

const { register } = await import('tsx/esm/api');
register();
await import('./cli.ts');
