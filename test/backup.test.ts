import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup } from '../lib/backup/create.ts';
import { scratchDatabaseBeside } from '../lib/backup/drill.ts';
import { listBackups } from '../lib/backup/list.ts';
import type { Manifest } from '../lib/backup/manifest.ts';
import { BackupRefusedError } from '../lib/backup/read.ts';
import { restoreBackup } from '../lib/backup/restore.ts';
import { verifyBackup } from '../lib/backup/verify.ts';

import type { Db } from '../lib/db/connection.ts';
import type { Storage } from '../lib/storage.ts';
import { scratchPglite } from '../local/scratch-database.ts';
import { migrations } from '../migrations/index.ts';
import { backupDeps, storageFor, tableFingerprints } from './support/backup.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { startTestS3, type TestS3 } from './support/s3.ts';

/** Every column type the backup format must carry exactly, edge values included. */
async function createTypeTables(db: Db) {
  await sql`create table backup_types (
    id bigint generated always as identity primary key,
    label text not null,
    amount numeric, big bigint, at timestamptz, doc jsonb, raw_json json, blob bytea,
    ints integer[], texts text[], flag boolean, uid uuid, ratio double precision, small real,
    day date, span interval, matrix integer[][],
    label_length integer generated always as (length(label)) stored
  )`.execute(db);
  // Sorts before its parent: the load must follow foreign keys, not names.
  await sql`create table backup_children (
    id serial primary key, type_id bigint not null references backup_types (id), note text
  )`.execute(db);
}

async function fillTypeTables(db: Db) {
  await sql`insert into backup_types
    (label, amount, big, at, doc, raw_json, blob, ints, texts, flag, uid, ratio, small, day, span, matrix) values
    (e'tab\\there \\\\ "quoted" ЁЖ 😀 é \\r\\n new line', 1.10, 9223372036854775807,
     '2026-01-02 03:04:05.123456+05:30', '{"a": 1.5e300, "b": [1, null], "c": "é"}', '{"z":1,  "z":2}',
     '\\x00ff10', '{1,NULL,3}', '{"a,b","c\\"d",NULL,"NULL",""}', true, gen_random_uuid(), 'NaN', 'Infinity',
     'infinity', '1 year 2 mons 3 days 04:05:06.789', '{{1,2},{3,4}}'),
    ('', -0.000000000000000000000001, -9223372036854775808, '-infinity', 'null', '"s"', '', '{}', '{}', false,
     '00000000-0000-0000-0000-000000000000', 1e-310, '-Infinity', '4713-01-01 BC', '-1 day', '{}'),
    ('nulls', null, null, null, null, null, null, null, null, null, null, null, null, null, null, null),
    ('numbers', 123456789012345678901234567890.123456789, 9007199254740993, '1970-01-01 00:00:00+00',
     '[]', 'null', '\\x', '{-2147483648,2147483647}', '{"\\\\"}', null, null, 0.1, 3.4028235e38,
     '2000-02-29', '00:00:00.000001', '{{NULL}}')`.execute(db);
  // Enough rows for several batches on the portable path (the suite reads 1,000 rows a FETCH).
  await sql`insert into backup_types (label, amount, big, at, doc, blob, flag)
    select 'row ' || g, g * 1.5, g * 1000000000000, now() - g * interval '1 minute',
      jsonb_build_object('g', g), decode(md5(g::text), 'hex'), g % 2 = 0
    from generate_series(1, 2500) g`.execute(db);
  await sql`insert into backup_children (type_id, note) select id, 'child of ' || label from backup_types
    where id % 3 = 0`.execute(db);
  await sql`insert into users (email, name, role, password_hash) values
    ('owner@example.com', 'Ówner', 'md', 'pbkdf2$x'), ('agent@example.com', 'Agent', 'agent', 'pbkdf2$y')`.execute(db);
}

describe.each(databaseKinds())('backup and restore round trip on %s', (kind) => {
  let source: TestDatabase;
  let s3: TestS3;
  let storage: Storage;
  let manifest: Manifest;
  let backupId: string;
  // The drill's scratch database, as the app makes it on this kind, plus the test's own tables
  // (an app's tables come from its migrations, which the drill runs itself).
  const drillFactory = async () => {
    const scratch = kind === 'pglite' ? await scratchPglite() : await scratchDatabaseBeside(source.db);
    await createTypeTables(scratch.db);
    return scratch;
  };

  beforeAll(async () => {
    [source, s3] = await Promise.all([createTestDatabase(kind), startTestS3()]);
    storage = storageFor(s3);
    await createTypeTables(source.db);
    await fillTypeTables(source.db);
    const made = await createBackup(
      { ...backupDeps(source.db, storage), batchRows: 1000 },
      { trigger: 'cli', holder: 'test' },
    );
    manifest = made.manifest;
    backupId = made.id;
  });
  afterAll(async () => {
    await Promise.all([source?.drop(), s3?.stop()]);
  });

  it('writes every table except the excluded and bookkeeping ones, with counts, and records it complete', async () => {
    const names = manifest.tables.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['users', 'backup_types', 'backup_children', 'cron_job_logs']));
    expect(names).not.toContain('request_logs');
    expect(names).not.toContain('job_locks');
    expect(names).not.toContain('opsbase_migrations');
    expect(manifest.excludedTables).toEqual(['request_logs']);
    expect(manifest.tables.find((t) => t.name === 'backup_types')?.rows).toBe(2504);
    expect(manifest.tables.find((t) => t.name === 'backup_types')?.columns.map((c) => c.name)).not.toContain(
      'label_length',
    );
    expect(manifest.migrations.at(-1)).toBe(Object.keys(migrations).at(-1));
    const row = await source.db.selectFrom('backups').selectAll().where('id', '=', backupId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'complete', tables: manifest.tables.length, rows: manifest.totals.rows });
    const listed = await listBackups(storage, 'backups');
    expect(listed.map((b) => [b.id, b.state])).toEqual([[backupId, 'complete']]);
  });

  // Restoring into a second database is seconds of work on a shared machine: a longer budget.
  it('restores into a fresh database with identical per-table counts and row contents', {
    timeout: 90_000,
  }, async () => {
    const target = await createTestDatabase(kind);
    try {
      await createTypeTables(target.db);
      const summary = await restoreBackup(
        { ...backupDeps(target.db, storage), target: target.db, prefix: 'backups', encryptionKey: undefined },
        backupId,
      );
      expect(summary.rows).toBe(manifest.totals.rows);
      const tables = manifest.tables.map((t) => t.name);
      expect(await tableFingerprints(target.db, tables)).toEqual(await tableFingerprints(source.db, tables));
      // Sequences carry on after the restored ids.
      const next = await sql<{
        id: string;
      }>`insert into backup_types (label) values ('after restore') returning id::text`.execute(target.db);
      const max = await sql<{
        max: string;
      }>`select max(id)::text as max from backup_types where label <> 'after restore'`.execute(source.db);
      expect(BigInt(next.rows[0]?.id ?? 0)).toBeGreaterThan(BigInt(max.rows[0]?.max ?? 0));
    } finally {
      await target.drop();
    }
  });

  it('refuses a non-empty target and replaces it in one transaction with replace', async () => {
    const deps = { ...backupDeps(source.db, storage), target: source.db, prefix: 'backups', encryptionKey: undefined };
    await expect(restoreBackup(deps, backupId)).rejects.toThrow(/not empty.*--replace/);
    const before = await tableFingerprints(source.db, ['users']);
    await sql`delete from backup_children where id % 2 = 0`.execute(source.db);
    await sql`update users set name = 'changed'`.execute(source.db);
    await restoreBackup(deps, backupId, { replace: true });
    expect(await tableFingerprints(source.db, ['users'])).toEqual(before);
    const children = await sql<{ n: number }>`select count(*)::int as n from backup_children`.execute(source.db);
    expect(children.rows[0]?.n).toBe(manifest.tables.find((t) => t.name === 'backup_children')?.rows);
  });

  // A drill starts a scratch database and migrates it from nothing: on PGlite that alone takes
  // seconds (DESIGN.md: a new PGlite starts in 1-6 s), so this test has a longer budget.
  it('verifies, and a restore drill matches the source snapshot row hashes', { timeout: 120_000 }, async () => {
    const deps = { ...backupDeps(source.db, storage), scratchDatabase: drillFactory };
    const result = await verifyBackup(deps, backupId, { drill: true });
    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({ ok: true, drill: true });
    const listed = await listBackups(storage, 'backups');
    expect(listed[0]?.verification).toMatchObject({ ok: true, drill: true });
  });

  it('with encryption: restores with the key, refuses a wrong key and a missing one before writing', {
    timeout: 90_000,
  }, async () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const encrypted = await createBackup(backupDeps(source.db, storage, { BACKUP_ENCRYPTION_KEY: key }), {
      trigger: 'cli',
      holder: 'test',
    });
    expect(encrypted.manifest.encryption?.algorithm).toBe('AES-256-GCM');
    expect(encrypted.manifest.tables[0]?.key).toMatch(/\.jsonl\.gz\.enc$/);
    const target = await createTestDatabase(kind);
    try {
      await createTypeTables(target.db);
      const deps = (k: string | undefined) => ({
        ...backupDeps(target.db, storage),
        target: target.db,
        prefix: 'backups',
        encryptionKey: k ? Buffer.from(k, 'base64') : undefined,
      });
      const wrong = Buffer.alloc(32, 8).toString('base64');
      await expect(restoreBackup(deps(wrong), encrypted.id)).rejects.toBeInstanceOf(BackupRefusedError);
      await expect(restoreBackup(deps(wrong), encrypted.id)).rejects.toThrow(/wrong BACKUP_ENCRYPTION_KEY/);
      await expect(restoreBackup(deps(undefined), encrypted.id)).rejects.toThrow(/is encrypted/);
      const untouched = await sql<{ n: number }>`select count(*)::int as n from users`.execute(target.db);
      expect(untouched.rows[0]?.n).toBe(0);
      await restoreBackup(deps(key), encrypted.id);
      const tables = encrypted.manifest.tables.map((t) => t.name);
      expect(await tableFingerprints(target.db, tables)).toEqual(await tableFingerprints(source.db, tables));
    } finally {
      await target.drop();
    }
  });
});
