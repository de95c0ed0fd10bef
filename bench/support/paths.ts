import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isProcessAlive } from '../../local/process-alive.ts';
import { onCleanup } from './cleanup.ts';

/** The project root: children run from here so tsx and relative entry paths resolve as with npm scripts. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const SCRATCH_ROOT = join(ROOT, '.cache', 'bench');

export type ScratchDir = { path: string; remove(): void };

/**
 * A fresh directory under .cache/bench/, removed by remove() or, at the latest, by the run's
 * cleanup. Its name carries the bench's pid so a later run can sweep what a killed one left.
 */
export function scratchDir(label: string): ScratchDir {
  mkdirSync(SCRATCH_ROOT, { recursive: true });
  sweepOrphans();
  const path = mkdtempSync(join(SCRATCH_ROOT, `${label}-${process.pid}-`));
  const remove = () => rmSync(path, { recursive: true, force: true });
  const forget = onCleanup(remove);
  return {
    path,
    remove() {
      forget();
      remove();
    },
  };
}

/** Removes scratch dirs of bench runs that no longer exist (killed with SIGKILL, say). */
function sweepOrphans(): void {
  for (const name of readdirSync(SCRATCH_ROOT)) {
    const pid = Number(/-(\d+)-[^-]+$/.exec(name)?.[1]);
    if (pid && pid !== process.pid && !isProcessAlive(pid))
      rmSync(join(SCRATCH_ROOT, name), { recursive: true, force: true });
  }
}
