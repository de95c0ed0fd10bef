import { randomBytes } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup } from '../lib/backup/create.ts';
import { dbBackup } from '../lib/backup/jobs.ts';
import { listBackups } from '../lib/backup/list.ts';
import { backupKeys } from '../lib/backup/manifest.ts';
import { pruneBackups } from '../lib/backup/prune.ts';
import { failedBackupIds } from '../lib/backup/repository.ts';
import { restoreBackup } from '../lib/backup/restore.ts';
import { listOpenUploads } from '../lib/backup/store.ts';
import { verifyBackup } from '../lib/backup/verify.ts';
import { parseConfig } from '../lib/config.ts';
import { runJob } from '../lib/jobs/runner.ts';
import { createLogger } from '../lib/logger.ts';
import { createStorage, type Storage } from '../lib/storage.ts';
import { TEST_ENV } from './support/app.ts';
import { backupDeps, storageFor } from './support/backup.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { startTestS3, type TestS3 } from './support/s3.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';

/** Part size forced to S3's minimum, and a table of incompressible bytes over two parts of it. */
const PART = { BACKUP_PART_SIZE: '5mb' };

describe.each(databaseKinds())('backup faults on %s', (kind) => {
  let database: TestDatabase;
  let s3: TestS3;
  let proxy: TcpProxy;
  /** Straight to the emulator, for arranging and checking. */
  let direct: Storage;
  /** Through the proxy the test can cut. */
  let viaProxy: Storage;
  let completeId: string;

  beforeAll(async () => {
    [database, s3] = await Promise.all([createTestDatabase(kind), startTestS3()]);
    proxy = await startTcpProxy(s3.port);
    direct = storageFor(s3);
    const config = parseConfig({ ...TEST_ENV, ...s3.env, S3_ENDPOINT: `http://127.0.0.1:${proxy.port}` });
    viaProxy = createStorage(config.s3 as NonNullable<typeof config.s3>);
    await sql`create table blobs (id integer primary key, data bytea not null)`.execute(database.db);
    for (let i = 0; i < 12; i++) {
      await sql`insert into blobs values (${i}, ${randomBytes(1024 * 1024)})`.execute(database.db);
    }
    completeId = (await createBackup(backupDeps(database.db, direct, PART), { trigger: 'cli', holder: 'test' })).id;
  });
  afterAll(async () => {
    await proxy?.close();
    await Promise.all([database?.drop(), s3?.stop()]);
  });

  it('a table larger than a part goes up as a multipart upload and verifies intact', async () => {
    const listed = await listBackups(direct, 'backups');
    expect(listed.map((b) => b.state)).toEqual(['complete']);
    const manifest = (await import('../lib/backup/read.ts')).loadManifest(direct, 'backups', completeId);
    const blobs = (await manifest).tables.find((t) => t.name === 'blobs');
    expect(blobs?.bytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(blobs?.parts).toBeGreaterThanOrEqual(3);
    expect(
      (await verifyBackup({ ...backupDeps(database.db, direct), scratchDatabase: undefined }, completeId)).ok,
    ).toBe(true);
  });

  it('storage down before the upload: the job run is recorded as error and no manifest exists', async () => {
    proxy.setMode('refuse');
    const config = parseConfig({ ...TEST_ENV, ...s3.env, ...PART });
    const result = await runJob(
      {
        db: database.db,
        config,
        storage: viaProxy,
        logger: createLogger('error'),
        runtime: 'node',
        holder: 'test-faults',
      },
      dbBackup,
      { kind: 'manual' },
    );
    proxy.setMode('pass');
    expect(result.outcome).toBe('error');
    const run = await database.db
      .selectFrom('cron_job_logs')
      .selectAll()
      .where('job_name', '=', 'db_backup')
      .executeTakeFirstOrThrow();
    expect(run.status).toBe('error');
    expect(run.error).toEqual(expect.any(String));
    const failed = await database.db.selectFrom('backups').selectAll().where('status', '=', 'failed').execute();
    expect(failed).toHaveLength(1);
    const stored = await listBackups(direct, 'backups');
    expect(stored.filter((b) => b.state === 'complete').map((b) => b.id)).toEqual([completeId]);
  });

  it('storage down in the middle of a multipart upload: failed, no manifest, the upload aborted, complete backups kept', async () => {
    let cut = false;
    const deps = {
      ...backupDeps(database.db, viaProxy, PART),
      onProgress: (event: { phase: string; table?: string; bytes?: number }) => {
        // Once the blobs table has sent more than a part, storage goes away.
        if (!cut && event.phase === 'table' && event.table === 'blobs' && (event.bytes ?? 0) > 6 * 1024 * 1024) {
          cut = true;
          proxy.setMode('refuse');
        }
      },
    };
    await expect(createBackup(deps, { trigger: 'cli', holder: 'test' })).rejects.toThrow();
    expect(cut).toBe(true);
    proxy.setMode('pass');
    const failed = await database.db
      .selectFrom('backups')
      .selectAll()
      .where('status', '=', 'failed')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    const keys = backupKeys('backups', failed.id);
    const stored = await listBackups(direct, 'backups');
    expect(stored.find((b) => b.id === failed.id)?.state ?? 'nothing stored').not.toBe('complete');
    expect(stored.some((b) => b.keys.includes(keys.manifest))).toBe(false);
    // Aborted at once if storage answered the abort, else by prune, which knows it failed.
    const plan = await pruneBackups(
      { storage: direct, settings: backupDeps(database.db, direct).settings, logger: createLogger('error') },
      { failedIds: await failedBackupIds(database.db) },
    );
    expect(await listOpenUploads(direct, 'backups/')).toEqual([]);
    expect(plan.keep.map((k) => k.id)).toContain(completeId);
    expect(plan.remove.map((r) => r.id)).not.toContain(completeId);
    expect((await listBackups(direct, 'backups')).filter((b) => b.state === 'complete').map((b) => b.id)).toEqual([
      completeId,
    ]);
  });

  it('a corrupted or truncated object fails verify naming it, and restore refuses before writing', async () => {
    // A small backup (blobs left out) whose job history object gets damaged.
    const small = { BACKUP_EXCLUDE_TABLES: 'request_logs,blobs' };
    const made = await createBackup(backupDeps(database.db, direct, small), { trigger: 'cli', holder: 'test' });
    const damaged = made.manifest.tables.find((t) => t.name === 'cron_job_logs');
    if (!damaged?.rows) throw new Error('no job history in the backup');
    const original = new Uint8Array(
      await (
        await direct.client.send(new GetObjectCommand({ Bucket: direct.bucket, Key: damaged.key }))
      ).Body!.transformToByteArray(),
    );
    const put = (body: Uint8Array) =>
      direct.client.send(new PutObjectCommand({ Bucket: direct.bucket, Key: damaged.key, Body: body }));

    const corrupted = original.slice();
    corrupted[Math.floor(corrupted.length / 2)]! ^= 0xff;
    await put(corrupted);
    const bad = await verifyBackup(backupDeps(database.db, direct), made.id);
    expect(bad.ok).toBe(false);
    expect(bad.problems.join('\n')).toContain(damaged.key);

    await put(original.slice(0, original.length - 8));
    const cutShort = await verifyBackup(backupDeps(database.db, direct), made.id);
    expect(cutShort.ok).toBe(false);
    expect(cutShort.problems.join('\n')).toContain(damaged.key);

    const target = await createTestDatabase(kind);
    try {
      await expect(
        restoreBackup(
          { ...backupDeps(target.db, direct), target: target.db, prefix: 'backups', encryptionKey: undefined },
          made.id,
        ),
      ).rejects.toThrow(damaged.key);
      const migrated = await sql<{ n: number }>`select count(*)::int as n from opsbase_migrations`.execute(target.db);
      const history = await sql<{ n: number }>`select count(*)::int as n from cron_job_logs`.execute(target.db);
      expect(history.rows[0]?.n).toBe(0);
      expect(migrated.rows[0]?.n).toBeGreaterThan(0);
    } finally {
      await target.drop();
    }
    await put(original);
    expect((await verifyBackup(backupDeps(database.db, direct), made.id)).ok).toBe(true);
  });

  it('a manifest whose row count disagrees with its object: the restore rolls back, naming the object', async () => {
    await sql`insert into users (email, name, role, password_hash)
      values (${`counted-${kind}@example.com`}, 'Counted', 'operator', 'x')`.execute(database.db);
    const small = { BACKUP_EXCLUDE_TABLES: 'request_logs,blobs' };
    const made = await createBackup(backupDeps(database.db, direct, small), { trigger: 'cli', holder: 'test' });
    const table = made.manifest.tables.find((t) => t.name === 'users');
    if (!table?.rows) throw new Error('no users in the backup');
    // The object is intact (size and checksum as listed); only the count it is checked against is off.
    const manifestKey = backupKeys('backups', made.id).manifest;
    const tampered = {
      ...made.manifest,
      tables: made.manifest.tables.map((t) => (t.name === table.name ? { ...t, rows: t.rows + 1 } : t)),
    };
    await direct.client.send(
      new PutObjectCommand({ Bucket: direct.bucket, Key: manifestKey, Body: JSON.stringify(tampered) }),
    );
    const target = await createTestDatabase(kind);
    try {
      const restoring = restoreBackup(
        { ...backupDeps(target.db, direct), target: target.db, prefix: 'backups', encryptionKey: undefined },
        made.id,
      );
      // The lines read are counted against the manifest (and the rows the server took, after them).
      await expect(restoring).rejects.toThrow(
        `rows differ from the manifest: ${table.rows} rows (manifest ${table.rows + 1})`,
      );
      await expect(restoring).rejects.toThrow(table.key);
      const users = await sql<{ n: number }>`select count(*)::int as n from users`.execute(target.db);
      expect(users.rows[0]?.n).toBe(0);
    } finally {
      await target.drop();
    }
  });
});
