import type { BackupSettings } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Storage } from '../storage.ts';
import { listBackups, type StoredBackup } from './list.ts';
import { abortUpload, deleteObjects, openUploads } from './store.ts';

const DAY_MS = 86_400_000;

export type PrunePlan = {
  keep: { id: string; reason: string }[];
  remove: { id: string; reason: string; bytes: number }[];
  /** Multipart uploads older than a day, left open by a backup that failed while storage was away. */
  staleUploads: { key: string; uploadId: string }[];
};

/**
 * What retention keeps: every complete backup from the last BACKUP_KEEP_DAYS, at least the
 * BACKUP_KEEP_COUNT newest complete ones, and always the newest verified one. Incomplete backups
 * (no manifest) go once their newest object is a day old; younger ones may still be running.
 */
export function planPrune(
  backups: StoredBackup[],
  settings: Pick<BackupSettings, 'keepDays' | 'keepCount'>,
  now = new Date(),
): PrunePlan {
  const plan: PrunePlan = { keep: [], remove: [], staleUploads: [] };
  const complete = backups.filter((b) => b.state === 'complete').sort((a, b) => (a.id < b.id ? 1 : -1));
  const newestVerified = complete.find((b) => b.verification?.ok)?.id;
  const cutoff = now.getTime() - settings.keepDays * DAY_MS;
  complete.forEach((backup, index) => {
    if (backup.createdAt.getTime() >= cutoff)
      plan.keep.push({ id: backup.id, reason: `within ${settings.keepDays} days` });
    else if (index < settings.keepCount)
      plan.keep.push({ id: backup.id, reason: `one of the ${settings.keepCount} newest` });
    else if (backup.id === newestVerified) plan.keep.push({ id: backup.id, reason: 'the newest verified backup' });
    else plan.remove.push({ id: backup.id, reason: `older than ${settings.keepDays} days`, bytes: backup.bytes });
  });
  for (const backup of backups.filter((b) => b.state === 'incomplete')) {
    if (now.getTime() - backup.lastModified.getTime() > DAY_MS) {
      plan.remove.push({ id: backup.id, reason: 'incomplete (no manifest) for over a day', bytes: backup.bytes });
    } else plan.keep.push({ id: backup.id, reason: 'incomplete, less than a day old (may be running)' });
  }
  return plan;
}

export async function pruneBackups(
  deps: { storage: Storage; settings: BackupSettings; logger: Logger; signal?: AbortSignal },
  options: {
    dryRun?: boolean;
    now?: Date;
    /** Backups the index knows failed: their open uploads are aborted at once. */
    failedIds?: ReadonlySet<string>;
  } = {},
): Promise<PrunePlan> {
  const { storage, settings, signal } = deps;
  const now = options.now ?? new Date();
  const backups = await listBackups(storage, settings.prefix, signal);
  const plan = planPrune(backups, settings, now);
  // A running backup's upload is young and its backup not failed: only those are left alone.
  const idOf = (key: string) => key.slice(settings.prefix.length + 1).split('/')[0] ?? '';
  plan.staleUploads = (await openUploads(storage, `${settings.prefix}/`, signal)).filter(
    (u) =>
      now.getTime() - u.initiated.getTime() > DAY_MS ||
      options.failedIds?.has(idOf(u.key)) ||
      plan.remove.some((r) => r.id === idOf(u.key)),
  );
  if (options.dryRun) return plan;
  for (const upload of plan.staleUploads) await abortUpload(storage, upload.key, upload.uploadId, signal);
  for (const removal of plan.remove) {
    const backup = backups.find((b) => b.id === removal.id);
    if (backup) await deleteObjects(storage, backup.keys, signal);
    deps.logger.info('backup pruned', { id: removal.id, reason: removal.reason });
  }
  return plan;
}
