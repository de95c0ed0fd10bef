import type { Db } from '../db/connection.ts';
import { withTimeout } from '../runtime.ts';
import { newestCompleteBackup } from './repository.ts';

export type BackupHealth = {
  newestCompleteId: string | null;
  newestCompleteAt: string | null;
  /** Seconds since the newest complete backup finished; null when there is none. */
  ageSeconds: number | null;
  error?: string;
};

/** The age of the newest complete backup, from the backups index (no bucket listing on a health check). */
export async function backupHealth(db: Db, timeoutMs: number, now = Date.now()): Promise<BackupHealth> {
  try {
    const newest = await withTimeout(newestCompleteBackup(db), timeoutMs, 'database');
    return {
      newestCompleteId: newest?.id ?? null,
      newestCompleteAt: newest?.finishedAt.toISOString() ?? null,
      ageSeconds: newest ? Math.round((now - newest.finishedAt.getTime()) / 1000) : null,
    };
  } catch (error) {
    return {
      newestCompleteId: null,
      newestCompleteAt: null,
      ageSeconds: null,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}
