import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup } from '../lib/backup/create.ts';
import { backupViews } from '../lib/backup/list.ts';
import { loadManifest } from '../lib/backup/read.ts';
import { BACKUP_LEASE, BackupRunningError, backupRows } from '../lib/backup/repository.ts';
import { restoreBackup } from '../lib/backup/restore.ts';
import { startBackup } from '../lib/backup/start.ts';
import type { Storage } from '../lib/storage.ts';
import { appFor } from './support/app.ts';
import { backupDeps, storageFor } from './support/backup.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { waitFor } from './support/processes.ts';
import { startTestS3, type TestS3 } from './support/s3.ts';
import { loginToken, seedUser } from './support/users.ts';

/** Parents and children written in pairs (one transaction each) while a backup runs. */
async function createSnapshotTables(db: TestDatabase['db']) {
  await sql`create table snap_a_parents (id bigint primary key, at timestamptz not null default clock_timestamp(), pad text)`.execute(
    db,
  );
  await sql`create table snap_b_children (id bigint primary key references snap_a_parents (id), at timestamptz not null default clock_timestamp())`.execute(
    db,
  );
}

describe.each(databaseKinds())('backups: admin API, one at a time, snapshot, files (%s)', (kind) => {
  let database: TestDatabase;
  let s3: TestS3;
  let storage: Storage;
  let harness: ReturnType<typeof appFor>;
  let auth: Record<string, string>;

  beforeAll(async () => {
    [database, s3] = await Promise.all([createTestDatabase(kind), startTestS3()]);
    storage = storageFor(s3);
    harness = appFor({ DATABASE_URL: database.url, ...s3.env });
    const admin = await seedUser(database.db, 'admin');
    auth = { authorization: `Bearer ${await loginToken(harness.app, admin)}` };
  });
  afterAll(async () => {
    await harness?.close();
    await Promise.all([database?.drop(), s3?.stop()]);
  });

  const get = async (path: string, headers = auth) => {
    const res = await harness.app.request(path, { headers });
    return { status: res.status, body: await res.json() };
  };

  it('health reports no complete backup, then one started through the API, its age and the list', async () => {
    expect((await get('/api/health')).body.backup).toMatchObject({ newestCompleteAt: null, ageSeconds: null });
    const started = await harness.app.request('/api/admin/system/backups', { method: 'POST', headers: auth });
    expect(started.status).toBe(202);
    const { id } = await started.json();
    const item = await waitFor(
      async () => {
        const list = await get('/api/admin/system/backups');
        return list.body.items.find((b: { id: string; state: string }) => b.id === id && b.state !== 'running');
      },
      60_000,
      'the backup to finish',
    );
    expect(item).toMatchObject({ id, state: 'complete', trigger: 'api', encrypted: false });
    expect(item.tables).toBeGreaterThan(3);
    const health = (await get('/api/health')).body.backup;
    expect(health.newestCompleteId).toBe(id);
    expect(health.ageSeconds).toBeGreaterThanOrEqual(0);
    expect((await get('/api/admin/system/health')).body.backup.newestCompleteId).toBe(id);
    // Between its manifest's upload and the index's record of it, a backup is still running in
    // the list too, so the list never shows complete what health does not count yet.
    const finishing = (await backupRows(database.db)).map((row) =>
      row.id === id ? { ...row, status: 'running' as const } : row,
    );
    const views = await backupViews(storage, harness.services.config.backup.prefix, finishing);
    expect(views.find((view) => view.id === id)?.state).toBe('running');

    const verified = await harness.app.request(`/api/admin/system/backups/${id}/verify`, {
      method: 'POST',
      headers: auth,
    });
    expect(verified.status).toBe(200);
    expect(await verified.json()).toMatchObject({ id, ok: true, drill: false, problems: [] });
    const unknown = await harness.app.request('/api/admin/system/backups/20200101T000000Z-000000/verify', {
      method: 'POST',
      headers: auth,
    });
    expect(unknown.status).toBe(404);
  });

  it('a second backup is refused while one holds the lease (API 409, CLI/lib BackupRunningError)', async () => {
    // The API's backup above releases its lease just after it is recorded complete.
    await waitFor(
      async () =>
        !(await database.db
          .selectFrom('job_locks')
          .select('job_name')
          .where('job_name', '=', BACKUP_LEASE)
          .executeTakeFirst()),
      10_000,
      "the API backup's lease to be released",
    );
    const first = await startBackup(backupDeps(database.db, storage), { trigger: 'cli', holder: 'test-first' });
    try {
      const second = await harness.app.request('/api/admin/system/backups', { method: 'POST', headers: auth });
      expect(second.status).toBe(409);
      expect((await second.json()).error.code).toBe('CONFLICT');
      await expect(
        startBackup(backupDeps(database.db, storage), { trigger: 'cli', holder: 'test-second' }),
      ).rejects.toBeInstanceOf(BackupRunningError);
    } finally {
      await first.done;
    }
    // Released: the next one may run.
    const third = await startBackup(backupDeps(database.db, storage), { trigger: 'cli', holder: 'test-third' });
    await third.done;
  });

  // These two make a backup and restore it into a second database: seconds of work each on a
  // shared machine, so they get a longer budget than a request-sized test.
  const BACKUP_AND_RESTORE = { timeout: 90_000 };

  it(
    'a backup taken while writes run holds no row from after its snapshot, and pairs stay whole',
    BACKUP_AND_RESTORE,
    async () => {
      // Pairs are written in one transaction; the parent table is read first and is big enough
      // that writes land while it is read. A torn snapshot would hold children without parents.
      await createSnapshotTables(database.db);
      await sql`insert into snap_a_parents (id, pad) select -g, repeat('x', 200) from generate_series(1, 8000) g`.execute(
        database.db,
      );
      let writing = true;
      let written = 0;
      const writer = (async () => {
        for (let i = 1; writing && i < 100_000; i++) {
          await database.db.transaction().execute(async (trx) => {
            await sql`insert into snap_a_parents (id) values (${i})`.execute(trx);
            await sql`insert into snap_b_children (id) values (${i})`.execute(trx);
          });
          written = i;
        }
      })();
      await waitFor(async () => written >= 5, 30_000, 'the writer to start');
      let made: Awaited<ReturnType<typeof createBackup>>;
      try {
        made = await createBackup(backupDeps(database.db, storage), { trigger: 'cli', holder: 'test-snapshot' });
      } finally {
        await waitFor(async () => written >= 10, 30_000, 'writes during the backup');
        writing = false;
        await writer;
      }
      const target = await createTestDatabase(kind);
      try {
        await createSnapshotTables(target.db);
        await restoreBackup(
          { ...backupDeps(target.db, storage), target: target.db, prefix: 'backups', encryptionKey: undefined },
          made.id,
        );
        const { rows } = await sql<{ parents: number; children: number; orphans: number; newest: Date | null }>`select
          (select count(*)::int from snap_a_parents where id > 0) as parents,
          (select count(*)::int from snap_b_children) as children,
          (select count(*)::int from snap_a_parents p where p.id > 0 and not exists (select 1 from snap_b_children c where c.id = p.id)) as orphans,
          (select max(at) from snap_b_children) as newest`.execute(target.db);
        const snapshot = rows[0];
        expect(snapshot?.orphans).toBe(0);
        expect(snapshot?.parents).toBe(snapshot?.children);
        expect(snapshot?.parents).toBeLessThan(written);
        if (snapshot?.newest)
          expect(snapshot.newest.getTime()).toBeLessThanOrEqual(new Date(made.manifest.snapshotAt).getTime());
      } finally {
        await target.drop();
      }
    },
  );

  it(
    'files rows refer to are copied into the backup, listed in the manifest, and put back by restore',
    BACKUP_AND_RESTORE,
    async () => {
      await sql`create table test_uploads (id serial primary key, storage_key text)`.execute(database.db);
      const keys = ['uploads/2026/a photo.jpg', 'uploads/2026/ünïcode/b.pdf', 'uploads/gone.png'];
      for (const key of keys.slice(0, 2)) {
        await storage.client.send(
          new PutObjectCommand({ Bucket: storage.bucket, Key: key, Body: `content of ${key}` }),
        );
      }
      await sql`insert into test_uploads (storage_key) values (${keys[0]}), (${keys[1]}), (${keys[0]}), (${keys[2]}), (null)`.execute(
        database.db,
      );
      const references = [{ table: 'test_uploads', keyColumn: 'storage_key' }];
      const made = await createBackup(
        { ...backupDeps(database.db, storage), objectReferences: references },
        { trigger: 'cli', holder: 'test-files' },
      );
      const manifest = await loadManifest(storage, 'backups', made.id);
      expect(manifest.objects.map((o) => o.key).sort()).toEqual(keys.slice(0, 2).sort());
      expect(manifest.objects.every((o) => o.backupKey.startsWith(`backups/${made.id}/objects/`))).toBe(true);
      expect(manifest.missingObjects).toEqual([{ table: 'test_uploads', column: 'storage_key', key: keys[2] }]);

      // The files are lost, the database with them: restore brings both back.
      for (const key of keys.slice(0, 2)) {
        await storage.client.send(new PutObjectCommand({ Bucket: storage.bucket, Key: key, Body: 'overwritten' }));
      }
      const target = await createTestDatabase(kind);
      try {
        await sql`create table test_uploads (id serial primary key, storage_key text)`.execute(target.db);
        await createSnapshotTables(target.db);
        const summary = await restoreBackup(
          { ...backupDeps(target.db, storage), target: target.db, prefix: 'backups', encryptionKey: undefined },
          made.id,
        );
        expect(summary.objects).toBe(2);
        for (const key of keys.slice(0, 2)) {
          const body = await storage.client.send(new GetObjectCommand({ Bucket: storage.bucket, Key: key }));
          expect(await body.Body?.transformToString()).toBe(`content of ${key}`);
        }
        const restored = await sql<{ n: number }>`select count(*)::int as n from test_uploads`.execute(target.db);
        expect(restored.rows[0]?.n).toBe(5);
      } finally {
        await target.drop();
      }
    },
  );
});
