import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive } from './process-alive.ts';

/**
 * One process at a time may own a data dir: two PGlite instances on one directory corrupt it.
 * A lock whose process is gone is taken over.
 */
export type DataDirLock = {
  path: string;
  /** Records what the holder serves (URLs, ports) so other tools can find the running stack. */
  update(info: Record<string, unknown>): void;
  release(): void;
};

export function lockDataDir(dataDir: string, info: Record<string, unknown> = {}): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'opsbase.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const held = { pid: process.pid, startedAt: new Date().toISOString(), ...info };
      writeFileSync(path, JSON.stringify(held), { flag: 'wx' });
      return {
        path,
        update(more) {
          Object.assign(held, more);
          writeFileSync(path, JSON.stringify(held));
        },
        release() {
          try {
            const held = JSON.parse(readFileSync(path, 'utf8')) as { pid?: number };
            if (held.pid === process.pid) rmSync(path, { force: true });
          } catch {
            // already gone
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readLock(path);
      if (holder?.pid && holder.pid !== process.pid && isProcessAlive(holder.pid)) {
        throw new Error(
          `DATA_DIR ${dataDir} is in use by process ${holder.pid} (started ${holder.startedAt ?? 'earlier'}). ` +
            'Stop it first, or set DATA_DIR to another directory to run a second stack.',
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new Error(`could not lock ${path}`);
}

/** The lock of a live process, or undefined. */
export function runningStack(dataDir: string): { pid: number; [key: string]: unknown } | undefined {
  const held = readLock(join(dataDir, 'opsbase.lock'));
  return held?.pid && held.pid !== process.pid && isProcessAlive(held.pid) ? (held as { pid: number }) : undefined;
}

export function readLock(path: string): { pid?: number; startedAt?: string; [key: string]: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}
