import type { BackupRow } from '../../schema/database.ts';
import type { Storage } from '../storage.ts';
import { BACKUP_ID, backupKeys, type Manifest, type Verification, VerificationSchema } from './manifest.ts';
import { loadManifest } from './read.ts';
import { getJson, listObjects } from './store.ts';

export type StoredBackup = {
  id: string;
  /** complete: has a manifest (restorable). incomplete: objects without one (failed or still running). */
  state: 'complete' | 'incomplete';
  createdAt: Date;
  /** Newest object's time (an incomplete backup still being written keeps this fresh). */
  lastModified: Date;
  bytes: number;
  objects: number;
  tables: number | null;
  rows: number | null;
  encrypted: boolean | null;
  verification: Verification | null;
  keys: string[];
};

/** When a backup id says it was made (ids start with the UTC time). */
export function idTime(id: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(id);
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : new Date(0);
}

/**
 * Every backup under the prefix, newest first, read from storage (the source of truth): complete
 * ones with their manifest's figures and last verification, incomplete ones with their objects.
 */
export async function listBackups(storage: Storage, prefix: string, signal?: AbortSignal): Promise<StoredBackup[]> {
  const groups = new Map<string, { keys: string[]; bytes: number; lastModified: Date }>();
  for await (const object of listObjects(storage, `${prefix}/`, signal)) {
    const id = object.key.slice(prefix.length + 1).split('/')[0] ?? '';
    if (!BACKUP_ID.test(id)) continue;
    const group = groups.get(id) ?? { keys: [], bytes: 0, lastModified: new Date(0) };
    group.keys.push(object.key);
    group.bytes += object.bytes;
    if (object.lastModified > group.lastModified) group.lastModified = object.lastModified;
    groups.set(id, group);
  }
  const backups: StoredBackup[] = [];
  for (const [id, group] of groups) {
    const keys = backupKeys(prefix, id);
    let manifest: Manifest | undefined;
    if (group.keys.includes(keys.manifest))
      manifest = await loadManifest(storage, prefix, id, signal).catch(() => undefined);
    const verification = group.keys.includes(keys.verified)
      ? (VerificationSchema.safeParse(await getJson(storage, keys.verified, signal)).data ?? null)
      : null;
    backups.push({
      id,
      state: manifest ? 'complete' : 'incomplete',
      createdAt: manifest ? new Date(manifest.createdAt) : idTime(id),
      lastModified: group.lastModified,
      bytes: group.bytes,
      objects: group.keys.length,
      tables: manifest?.tables.length ?? null,
      rows: manifest?.totals.rows ?? null,
      encrypted: manifest ? manifest.encryption !== null : null,
      verification,
      keys: group.keys,
    });
  }
  return backups.sort((a, b) => (a.id < b.id ? 1 : -1));
}

/** The newest complete backup's id, for `verify` and `restore latest`. */
export async function newestComplete(
  storage: Storage,
  prefix: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  return (await listBackups(storage, prefix, signal)).find((b) => b.state === 'complete')?.id;
}

/** A backup as the admin API and the CLI show it: storage's view, with this database's index. */
export type BackupView = {
  id: string;
  /** complete: restorable. running / failed: from the index. incomplete: objects without a manifest. */
  state: 'complete' | 'incomplete' | 'running' | 'failed';
  createdAt: string;
  bytes: number;
  tables: number | null;
  rows: number | null;
  encrypted: boolean | null;
  verification: Verification | null;
  trigger: string | null;
  error: string | null;
};

/** Every backup in storage, plus running and failed ones this database's index knows, newest first. */
export async function backupViews(
  storage: Storage,
  prefix: string,
  index: BackupRow[],
  signal?: AbortSignal,
): Promise<BackupView[]> {
  const stored = await listBackups(storage, prefix, signal);
  const byId = new Map(index.map((row) => [row.id, row]));
  const views: BackupView[] = stored.map((b) => {
    const row = byId.get(b.id);
    // A manifest makes a backup complete once its process has recorded it so: in the moment
    // between the manifest's upload and that record it is still running (health, which reads
    // the index, does not count it yet). Objects without a manifest: running or failed when the
    // index says so, else just incomplete.
    const state =
      b.state === 'complete' && row?.status !== 'running'
        ? 'complete'
        : row?.status === 'running' || row?.status === 'failed'
          ? row.status
          : 'incomplete';
    return {
      id: b.id,
      state,
      createdAt: b.createdAt.toISOString(),
      bytes: b.bytes,
      tables: b.tables,
      rows: b.rows,
      encrypted: b.encrypted,
      verification: b.verification,
      trigger: row?.trigger ?? null,
      error: row?.error ?? null,
    };
  });
  for (const row of index) {
    if (stored.some((b) => b.id === row.id) || row.status === 'complete') continue;
    views.push({
      id: row.id,
      state: row.status,
      createdAt: row.started_at.toISOString(),
      bytes: 0,
      tables: null,
      rows: null,
      encrypted: row.encrypted,
      verification: null,
      trigger: row.trigger,
      error: row.error,
    });
  }
  return views.sort((a, b) => (a.id < b.id ? 1 : -1));
}
