import { z } from 'zod';

/**
 * The object layout of one backup, under BACKUP_PREFIX:
 *   <prefix>/<id>/tables/<table>.jsonl.gz[.enc]   one JSON object per row, in primary-key order
 *   <prefix>/<id>/objects/<original key>          files rows refer to (see object-refs.ts)
 *   <prefix>/<id>/manifest.json                   written last: without it the backup is incomplete
 *   <prefix>/<id>/verified.json                   the last verification's outcome
 */
export const FORMAT = 'opsbase-backup/2';
/**
 * Formats a restore reads. /1 wrote arrays as JSON arrays (to_json's form), which loses an
 * array's lower bounds and reads a JSON null in a json[]/jsonb[] array back as a SQL NULL, and
 * fails on int2vector; /2 writes every array-like column as its text, as json/jsonb always were.
 */
export const FORMATS = ['opsbase-backup/1', FORMAT] as const;
export type BackupFormat = (typeof FORMATS)[number];

/** Whether a backup of `format` carries array-like columns as their text. */
export const arraysAsText = (format: BackupFormat) => format !== 'opsbase-backup/1';

export const backupKeys = (prefix: string, id: string) => ({
  root: `${prefix}/${id}/`,
  manifest: `${prefix}/${id}/manifest.json`,
  verified: `${prefix}/${id}/verified.json`,
  table: (table: string, encrypted: boolean) => `${prefix}/${id}/tables/${table}.jsonl.gz${encrypted ? '.enc' : ''}`,
  object: (key: string) => `${prefix}/${id}/objects/${key}`,
});

/** Backup ids sort by time: 20261127T020000Z-1a2b3c. */
export const BACKUP_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

export function newBackupId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const random = Array.from(crypto.getRandomValues(new Uint8Array(3)), (b) => b.toString(16).padStart(2, '0')).join('');
  return `${stamp}-${random}`;
}

const ColumnSchema = z.object({ name: z.string(), type: z.string() });

const TableSchema = z.object({
  name: z.string(),
  key: z.string(),
  rows: z.number().int().nonnegative(),
  /** Bytes stored (compressed, and encrypted when on). */
  bytes: z.number().int().nonnegative(),
  /** sha256 of the stored object. */
  sha256: z.string(),
  /** Bytes of JSON lines before compression. */
  rawBytes: z.number().int().nonnegative(),
  /** sha256 of the JSON lines in primary-key order: the row hash a restore drill compares. */
  rowsSha256: z.string(),
  /** Upload parts (1: a single PUT). */
  parts: z.number().int().positive(),
  columns: z.array(ColumnSchema),
  primaryKey: z.array(z.string()),
  /** Partitions of a partitioned table, recreated before its rows are loaded. */
  partitions: z.array(z.object({ name: z.string(), bound: z.string() })),
});
export type ManifestTable = z.infer<typeof TableSchema>;

const ObjectSchema = z.object({
  table: z.string(),
  column: z.string(),
  key: z.string(),
  backupKey: z.string(),
  bytes: z.number().int().nonnegative(),
  etag: z.string().nullable(),
});
export type ManifestObject = z.infer<typeof ObjectSchema>;

export const ManifestSchema = z.object({
  format: z.enum(FORMATS),
  id: z.string().regex(BACKUP_ID),
  createdAt: z.string(),
  /** When the snapshot was taken (the server's clock): no row in the backup is newer. */
  snapshotAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  app: z.object({ version: z.string(), commit: z.string().nullable() }),
  server: z.string(),
  /** Names of the migrations applied, in order: restore migrates the target to the last one. */
  migrations: z.array(z.string()),
  tables: z.array(TableSchema),
  excludedTables: z.array(z.string()),
  sequences: z.array(z.object({ name: z.string(), lastValue: z.string().nullable() })),
  objects: z.array(ObjectSchema),
  missingObjects: z.array(z.object({ table: z.string(), column: z.string(), key: z.string() })),
  compression: z.object({ algorithm: z.literal('gzip'), level: z.number() }),
  encryption: z
    .object({ algorithm: z.literal('AES-256-GCM'), chunkBytes: z.number(), keyFingerprint: z.string() })
    .nullable(),
  totals: z.object({ rows: z.number(), bytes: z.number() }),
});
export type Manifest = z.infer<typeof ManifestSchema>;

export const VerificationSchema = z.object({
  at: z.string(),
  ok: z.boolean(),
  drill: z.boolean(),
  problems: z.array(z.string()),
});
export type Verification = z.infer<typeof VerificationSchema>;
