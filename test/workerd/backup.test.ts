import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../lib/auth/password.ts';
import { createUser } from '../../lib/users.ts';
import { TEST_ENV } from '../support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/database.ts';
import { waitFor } from '../support/processes.ts';
import { startTestS3, type TestS3 } from '../support/s3.ts';
import { startWorker, type TestWorker } from '../support/worker.ts';

// The Worker makes a backup (cursor reads, node:zlib gzip, WebCrypto AES-GCM, multipart through
// the AWS SDK over fetch) and proves it with a restore drill into a scratch database, under workerd.
describe.each(databaseKinds())('backups under workerd, Postgres %s over TCP', (kind) => {
  let database: TestDatabase;
  /** Where the drill restores: a database of its own (a fresh schema in it per drill). */
  let drill: TestDatabase;
  let s3: TestS3;
  let worker: TestWorker;
  let auth: Record<string, string>;

  beforeAll(async () => {
    [database, drill, s3] = await Promise.all([createTestDatabase(kind), createTestDatabase(kind), startTestS3()]);
    worker = await startWorker({
      ...TEST_ENV,
      DATABASE_URL: database.url,
      ...s3.env,
      BACKUP_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
      BACKUP_DRILL_DATABASE_URL: drill.url,
      // A lease of 3 s renewed every second: a backup of a few seconds outlasts it.
      JOB_LEASE_SECONDS: '3',
    });
    await createUser(database.db, {
      email: 'backup-admin@example.com',
      name: 'Backup Admin',
      role: 'admin',
      passwordHash: await hashPassword('backup-password-1', { iterations: 1000 }),
    });
    const login = await worker.fetch('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'backup-admin@example.com', password: 'backup-password-1' }),
    });
    auth = { authorization: `Bearer ${(await login.json()).accessToken}` };
  });
  afterAll(async () => {
    await worker?.dispose();
    await Promise.all([database?.drop(), drill?.drop(), s3?.stop()]);
  });

  it('backs up through the admin API, lists it complete, and a restore drill matches', {
    timeout: 120_000,
  }, async () => {
    const started = await worker.fetch('/api/admin/system/backups', { method: 'POST', headers: auth });
    expect(started.status).toBe(202);
    const { id } = await started.json();
    let last: unknown;
    const item = await waitFor(
      async () => {
        const list = await (await worker.fetch('/api/admin/system/backups', { headers: auth })).json();
        last = list;
        return list.items?.find((b: { id: string; state: string }) => b.id === id && b.state !== 'running');
      },
      60_000,
      'the backup to finish in waitUntil',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nlast list: ${JSON.stringify(last)}\nworker log:\n${worker.logs().join('\n')}`);
    });
    expect(item).toMatchObject({ id, state: 'complete', encrypted: true, trigger: 'api' });
    const verified = await worker.fetch(`/api/admin/system/backups/${id}/verify?drill=true`, {
      method: 'POST',
      headers: auth,
    });
    const result = await verified.json();
    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({ id, ok: true, drill: true });
    const health = await (await worker.fetch('/api/health')).json();
    expect(health.backup.newestCompleteId).toBe(id);
  });

  it('a scheduled db_backup keeps its short lease renewed in waitUntil while it outlasts it', {
    timeout: 240_000,
  }, async () => {
    await sql`create table bulk (id integer primary key, body text not null)`.execute(database.db);
    await sql`insert into bulk select g, (select string_agg(md5(random()::text || g || i), '')
      from generate_series(1, 250) i) from generate_series(1, 1500) g`.execute(database.db);
    const expiries = new Set<number>();
    const event = worker.scheduled('0 2 * * *', new Date('2026-11-24T02:00:00Z'));
    let settled = false;
    void event.finally(() => {
      settled = true;
    });
    // On PostgreSQL the test sees each renewal; on the embedded PGlite its queries wait behind the
    // backup's snapshot like everyone else's, so there only the outcome is checked.
    while (!settled && kind === 'postgres') {
      const lock = await database.db
        .selectFrom('job_locks')
        .select('locked_until')
        .where('job_name', '=', 'db_backup')
        .executeTakeFirst();
      if (lock) expiries.add(lock.locked_until.getTime());
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await event).ok).toBe(true);
    const run = await database.db
      .selectFrom('cron_job_logs')
      .select(['status', 'error', 'duration_ms', 'runtime'])
      .where('job_name', '=', 'db_backup')
      .where('trigger', '=', 'schedule')
      .executeTakeFirstOrThrow();
    expect(run, JSON.stringify(worker.logs().slice(-20))).toMatchObject({ status: 'success', runtime: 'workerd' });
    console.log(`workerd ${kind}: db_backup took ${run.duration_ms} ms; lease expiries seen: ${expiries.size}`);
    if (kind === 'postgres' && (run.duration_ms ?? 0) > 3_000) expect(expiries.size).toBeGreaterThanOrEqual(2);
    expect(worker.logs().filter((line) => line.includes('lease lost'))).toEqual([]);
    expect(await database.db.selectFrom('job_locks').selectAll().where('job_name', '=', 'db_backup').execute()).toEqual(
      [],
    );
  });
});
