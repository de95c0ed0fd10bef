import type { Storage } from '../storage.ts';
import { type Bytes, countLines, gunzip, tally } from './codec.ts';
import { DecryptionError, decrypt, keyFingerprint } from './encryption.ts';
import { backupKeys, type Manifest, ManifestSchema, type ManifestTable } from './manifest.ts';
import { BackupObjectError, getJson, readObject } from './store.ts';

/** A restore or verify that cannot go ahead; nothing has been written. */
export class BackupRefusedError extends Error {
  override name = 'BackupRefusedError';
}

/** The backup's manifest, or a BackupObjectError naming it when the backup is incomplete or unknown. */
export async function loadManifest(storage: Storage, prefix: string, id: string, signal?: AbortSignal) {
  const key = backupKeys(prefix, id).manifest;
  const raw = await getJson(storage, key, signal);
  if (raw === undefined) {
    throw new BackupObjectError(key, 'missing: no such backup, or an incomplete one (it has no manifest)');
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new BackupObjectError(key, `not a manifest this version reads: ${parsed.error.issues[0]?.message}`);
  }
  return parsed.data;
}

/** Refuses a key that is not the one the backup was made with (or none for an encrypted backup). */
export async function checkKey(manifest: Manifest, key: Uint8Array | undefined): Promise<Uint8Array | undefined> {
  if (!manifest.encryption) return undefined;
  if (!key) {
    throw new BackupRefusedError(
      `backup ${manifest.id} is encrypted: set BACKUP_ENCRYPTION_KEY to the key it was made with (fingerprint ${manifest.encryption.keyFingerprint})`,
    );
  }
  const fingerprint = await keyFingerprint(key);
  if (fingerprint !== manifest.encryption.keyFingerprint) {
    throw new BackupRefusedError(
      `wrong BACKUP_ENCRYPTION_KEY for backup ${manifest.id}: it was made with the key of fingerprint ${manifest.encryption.keyFingerprint}, this key's is ${fingerprint}`,
    );
  }
  return key;
}

/**
 * A table object's JSON lines, decrypted and decompressed as they stream; `check()` after the
 * stream ends compares size, sha256, row count and (unless `rowHash: false`) row hash with the manifest and throws a
 * BackupObjectError naming the object on any difference. Damage found mid-stream (a bad chunk,
 * broken gzip) throws the same error.
 */
export function readTable(
  storage: Storage,
  table: ManifestTable,
  key: Uint8Array | undefined,
  signal?: AbortSignal,
  options: { rowHash?: boolean } = {},
): { lines: Bytes; check(): void } {
  const stored = tally(
    (async function* () {
      yield* await readObject(storage, table.key, signal);
    })(),
  );
  const plain = key ? decrypt(stored.bytes, key) : stored.bytes;
  // Hashing the decompressed lines costs more than hashing the stored object: a restore, which has
  // checked the stored object's sha256 before writing anything (and gzip has a CRC), skips it.
  const rowHash = options.rowHash ?? true;
  const raw = rowHash ? tally(gunzip(plain)) : undefined;
  const lines = countLines(raw ? raw.bytes : gunzip(plain));
  return {
    lines: nameFailures(table.key, lines.bytes),
    check() {
      assertStored(table, stored.result());
      const r = raw ? raw.result() : { sha256: table.rowsSha256 };
      if (lines.lines() !== table.rows || r.sha256 !== table.rowsSha256) {
        throw new BackupObjectError(
          table.key,
          `rows differ from the manifest: ${lines.lines()} rows (manifest ${table.rows}), row hash ${r.sha256 === table.rowsSha256 ? 'matches' : 'differs'}`,
        );
      }
    },
  };
}

/** Re-throws decoding failures (gzip, decryption) as BackupObjectError naming the object. */
async function* nameFailures(objectKey: string, source: Bytes): Bytes {
  try {
    yield* source;
  } catch (error) {
    if (error instanceof BackupObjectError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    // zlib's errors carry a Z_ code (Z_DATA_ERROR: bad data, Z_BUF_ERROR: cut short).
    const zlibCode = String((error as { code?: unknown }).code ?? '');
    if (error instanceof DecryptionError || zlibCode.startsWith('Z_')) {
      throw new BackupObjectError(objectKey, `damaged: ${message}`, { cause: error });
    }
    throw error;
  }
}

/** Reads a whole table object and checks it against the manifest (verify, and restore's pre-check). */
export async function checkTable(
  storage: Storage,
  table: ManifestTable,
  key: Uint8Array | undefined,
  onBytes?: (bytes: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  const reader = readTable(storage, table, key, signal);
  for await (const chunk of reader.lines) onBytes?.(chunk.byteLength);
  reader.check();
}

/** Reads a stored object and compares its size and sha256 with the manifest, without decoding it. */
export async function checkStored(storage: Storage, table: ManifestTable, signal?: AbortSignal): Promise<void> {
  const stored = tally(await readObject(storage, table.key, signal));
  for await (const _ of stored.bytes);
  assertStored(table, stored.result());
}

/** The stored object is the one the manifest describes (size and sha256), or an error naming it. */
function assertStored(table: ManifestTable, s: { bytes: number; sha256: string }): void {
  if (s.bytes !== table.bytes || s.sha256 !== table.sha256) {
    throw new BackupObjectError(
      table.key,
      `checksum mismatch: stored ${s.bytes} bytes sha256 ${s.sha256.slice(0, 12)}..., the manifest says ${table.bytes} bytes sha256 ${table.sha256.slice(0, 12)}...`,
    );
  }
}
