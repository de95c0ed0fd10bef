import { type Kysely, sql } from 'kysely';
import type { BackupDeps } from '../../lib/backup/create.ts';
import { type BackupSettings, parseConfig } from '../../lib/config.ts';
import type { Db } from '../../lib/db/connection.ts';
import { createLogger } from '../../lib/logger.ts';
import { createStorage, type Storage } from '../../lib/storage.ts';
import { TEST_ENV } from './app.ts';
import type { TestS3 } from './s3.ts';

/** Backup settings as the config parses them from these variables (and the test defaults). */
export function backupSettings(env: Record<string, string> = {}): BackupSettings {
  return parseConfig({ ...TEST_ENV, ...env }).backup;
}

export function storageFor(s3: TestS3): Storage {
  const config = parseConfig({ ...TEST_ENV, ...s3.env });
  if (!config.s3) throw new Error('no S3 settings');
  return createStorage(config.s3);
}

export function backupDeps(db: Db, storage: Storage, env: Record<string, string> = {}): BackupDeps {
  return { db, storage, settings: backupSettings(env), logger: createLogger('error', { test: 'backup' }) };
}

/**
 * Per table: row count and an md5 of every row's text form (sorted), computed by the
 * server itself, independently of the backup's JSON format.
 */
export async function tableFingerprints(
  // biome-ignore lint/suspicious/noExplicitAny: any schema (tests create their own tables)
  db: Kysely<any>,
  tables: string[],
): Promise<Record<string, { rows: number; md5: string | null }>> {
  const out: Record<string, { rows: number; md5: string | null }> = {};
  await db.connection().execute(async (conn) => {
    await sql`set timezone = 'UTC'`.execute(conn);
    for (const table of tables) {
      const { rows } = await sql<{ rows: number; md5: string | null }>`select count(*)::int as rows,
        md5(string_agg(t::text, e'\\n' order by t::text)) as md5 from ${sql.table(table)} t`.execute(conn);
      out[table] = rows[0] ?? { rows: 0, md5: null };
    }
    await sql`reset timezone`.execute(conn);
  });
  return out;
}
