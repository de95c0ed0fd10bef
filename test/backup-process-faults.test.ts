import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackups } from '../lib/backup/list.ts';
import { backupKeys } from '../lib/backup/manifest.ts';
import { pruneBackups } from '../lib/backup/prune.ts';
import { restoreBackup } from '../lib/backup/restore.ts';
import { listOpenUploads } from '../lib/backup/store.ts';
import { createLogger } from '../lib/logger.ts';
import type { Storage } from '../lib/storage.ts';
import { backupDeps, storageFor, tableFingerprints } from './support/backup.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { envelopeProblems, errorCode, readAnswer } from './support/envelope.ts';
import { type ServerProcess, startServerProcess } from './support/node-server.ts';
import { waitFor } from './support/processes.ts';
import { startTestS3, type TestS3 } from './support/s3.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';
import { seedUser } from './support/users.ts';

// The real server process (functions/node.ts, as `npm start` runs it) making db_backup runs
// through its cron trigger, with the S3 emulator behind a TCP proxy the test controls.
// 1. SIGKILL mid-backup, restart: the half backup is never offered as complete, its row and its
//    job run are closed as interrupted, its upload is aborted, its objects go with prune, and a
//    rerun succeeds as soon as the dead holder's short lease lapses (not after the job's 3 h
//    timeout), restoring to the same rows.
// 2. Storage cut mid-upload: the run fails cleanly (error recorded, no manifest), health reports
//    storage down within 5 s, routes that need no storage answer 200 and a storage route 503
//    STORAGE_UNAVAILABLE; storage back: health 200 within 5 s, no restart, and the next backup works.

const CONTRACT_MS = 5_000;
/** Longer than a restart here, so the rerun meets the dead holder's lease before it lapses. */
const LEASE_SECONDS = 15;
const CRON_SECRET = 'backup-faults-cron-secret-0123456789';
/** Rows of 32 KB of md5 hex: ~64 MB raw (PostgreSQL), enough for a backup lasting seconds. */
const BULK_ROWS: Record<string, number> = { pglite: 600, postgres: 2000 };

type Figures = Record<string, number | string>;
const figures: Figures[] = [];

describe.each(databaseKinds())('backups when the server process or storage fails (%s)', (kind) => {
  let database: TestDatabase;
  let s3: TestS3;
  let proxy: TcpProxy;
  let direct: Storage;
  let server: ServerProcess;
  let adminToken: string;
  let admin: { email: string; password: string };

  const start = () =>
    startServerProcess({
      DATABASE_URL: database.url,
      ...s3.env,
      S3_ENDPOINT: `http://127.0.0.1:${proxy.port}`,
      CRON_SECRET,
      JOB_LEASE_SECONDS: String(LEASE_SECONDS),
      BACKUP_PART_SIZE: '5mb',
      ENABLE_SCHEDULED_TASKS: 'false',
    });
  const login = async () => {
    const res = await server.request('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(admin),
    });
    return ((await res.json()) as { accessToken: string }).accessToken;
  };
  const runBackupJob = () =>
    readAnswer(
      server.request('/api/cron/db_backup', { method: 'POST', headers: { authorization: `Bearer ${CRON_SECRET}` } }),
    );
  const asAdmin = (path: string) =>
    readAnswer(server.request(path, { headers: { authorization: `Bearer ${adminToken}` } }));
  const health = async () => {
    const res = await server.request('/api/health', { signal: AbortSignal.timeout(15_000) });
    return { status: res.status, body: (await res.json()) as { error: Record<string, { message?: string }> } };
  };
  /** A multipart upload is open under backups/: a backup is streaming a table right now. */
  const uploading = async () => (await listOpenUploads(direct, 'backups/')).length > 0;

  async function withinContract(from: number, what: string, condition: () => Promise<boolean>): Promise<number> {
    const deadline = from + CONTRACT_MS;
    for (;;) {
      if (await condition().catch(() => false)) return Date.now() - from;
      if (Date.now() > deadline) throw new Error(`${what} did not happen within ${CONTRACT_MS} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    [database, s3] = await Promise.all([createTestDatabase(kind), startTestS3()]);
    proxy = await startTcpProxy(s3.port);
    direct = storageFor(s3);
    await sql`create table bulk (id integer primary key, body text not null)`.execute(database.db);
    // Random hex (barely compressible by gzip -1 below half), made by the server in batches.
    const rows = BULK_ROWS[kind] ?? 600;
    for (let from = 1; from <= rows; from += 100) {
      await sql`insert into bulk select g, (select string_agg(md5(random()::text || g || i), '')
        from generate_series(1, 1000) i) from generate_series(${from}::int, ${Math.min(rows, from + 99)}::int) g`.execute(
        database.db,
      );
    }
    const user = await seedUser(database.db, 'admin');
    admin = { email: user.email, password: user.password };
    server = await start();
    adminToken = await login();
  }, 300_000);
  afterAll(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    await server?.exited;
    await proxy?.close();
    await Promise.all([database?.drop(), s3?.stop()]);
  });

  it('SIGKILL mid-backup: no half backup listed, the run closed, and a rerun within the lease restores the same rows', async () => {
    const first = runBackupJob().catch(() => undefined); // answered by nobody: the process dies
    await waitFor(uploading, 120_000, 'a table streaming to storage');
    const killedAt = Date.now();
    server.child.kill('SIGKILL');
    await Promise.all([server.exited, first]);

    const half = await database.db.selectFrom('backups').selectAll().where('status', '=', 'running').execute();
    expect(half).toHaveLength(1);
    const halfId = half[0]?.id as string;
    expect(
      (
        await database.db.selectFrom('cron_job_logs').select('status').where('job_name', '=', 'db_backup').execute()
      ).map((r) => r.status),
    ).toEqual(['running']);
    // The dead holder's lease ends JOB_LEASE_SECONDS after its last renewal, not the job's 3 h timeout.
    const lease = await sql<{ leftMs: number }>`select (extract(epoch from locked_until - now()) * 1000)::int
      as "leftMs" from job_locks where job_name = 'db_backup'`.execute(database.db);
    const leaseLeftMs = lease.rows[0]?.leftMs ?? Number.NaN;
    expect(leaseLeftMs).toBeLessThanOrEqual(LEASE_SECONDS * 1000);

    server = await start();
    adminToken = await login();
    // What the rerun must restore (a login changes users.last_login_at, so taken after it).
    const source = await tableFingerprints(database.db, ['bulk', 'users']);
    // Not complete in the API's list, in storage's view, nor for verify.
    const listed = JSON.parse((await asAdmin('/api/admin/system/backups')).text) as {
      items: { id: string; state: string }[];
    };
    expect(listed.items.find((b) => b.id === halfId)?.state).not.toBe('complete');
    expect(listed.items.filter((b) => b.state === 'complete')).toEqual([]);
    expect((await listBackups(direct, 'backups')).filter((b) => b.state === 'complete')).toEqual([]);
    const verify = await readAnswer(
      server.request(`/api/admin/system/backups/${halfId}/verify`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}` },
      }),
    );
    expect(verify.status).toBe(404);

    // The dead process's lease holds the job only until it lapses (JOB_LEASE_SECONDS), then a rerun runs.
    let refused = 0;
    const rerun = await waitFor(
      async () => {
        const answer = await runBackupJob();
        if (answer.status === 409) {
          refused++;
          return false;
        }
        return answer;
      },
      120_000,
      'a rerun of db_backup that is not refused',
    );
    const rerunAfterMs = Date.now() - killedAt;
    expect(rerun.status, rerun.text).toBe(200);

    const runs = await database.db
      .selectFrom('cron_job_logs')
      .select(['status', 'error'])
      .where('job_name', '=', 'db_backup')
      .where('status', '!=', 'skipped')
      .orderBy('id')
      .execute();
    expect(runs.map((r) => r.status)).toEqual(['error', 'success']);
    expect(runs[0]?.error).toMatch(/^interrupted/);
    const row = await database.db.selectFrom('backups').selectAll().where('id', '=', halfId).executeTakeFirstOrThrow();
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/^interrupted/);

    // Storage: one complete backup (the rerun); the half one has no manifest and no open upload.
    const stored = await listBackups(direct, 'backups');
    const complete = stored.filter((b) => b.state === 'complete');
    expect(complete).toHaveLength(1);
    expect(stored.find((b) => b.id === halfId)?.keys ?? []).not.toContain(backupKeys('backups', halfId).manifest);
    expect(await listOpenUploads(direct, 'backups/')).toEqual([]);
    // What it left behind goes with prune once a day old; the complete backup stays.
    const settings = backupDeps(database.db, direct).settings;
    const plan = await pruneBackups(
      { storage: direct, settings, logger: createLogger('error') },
      { now: new Date(Date.now() + 25 * 3600_000) },
    );
    if (stored.some((b) => b.id === halfId)) expect(plan.remove.map((r) => r.id)).toContain(halfId);
    expect((await listBackups(direct, 'backups')).map((b) => b.id)).toEqual([complete[0]?.id]);

    const target = await createTestDatabase(kind);
    try {
      await sql`create table bulk (id integer primary key, body text not null)`.execute(target.db);
      await restoreBackup(
        { ...backupDeps(target.db, direct), target: target.db, prefix: 'backups', encryptionKey: undefined },
        complete[0]?.id as string,
        { replace: true },
      );
      expect(await tableFingerprints(target.db, ['bulk', 'users'])).toEqual(source);
    } finally {
      await target.drop();
    }
    figures.push({
      database: kind,
      case: 'SIGKILL mid-backup',
      'bulk rows / MB': `${source.bulk?.rows} / ${Math.round(((source.bulk?.rows ?? 0) * 32_000) / 1e6)}`,
      "dead holder's lease left at the kill (ms)": leaseLeftMs,
      'rerun accepted after kill (ms)': rerunAfterMs,
      'reruns refused (409) meanwhile': refused,
      'rerun backup (ms)': (JSON.parse(rerun.text) as { durationMs: number }).durationMs,
    });
  }, 600_000);

  it('storage cut mid-upload: a clean failure, storage down in health, other routes 200; restored: healthy, no restart, next backup works', async () => {
    const before = await database.db.selectFrom('backups').select('id').execute();
    const started = Date.now();
    const job = runBackupJob();
    await waitFor(uploading, 120_000, 'a table streaming to storage');
    const cutAt = Date.now();
    proxy.setMode('refuse');
    try {
      const failed = await job;
      const failedAfterMs = Date.now() - cutAt;
      expect(failed.status, failed.text).toBe(500);
      expect(errorCode(failed)).toBe('JOB_FAILED');
      const healthDownMs = await withinContract(cutAt, 'health 503 naming storage', async () => {
        const h = await health();
        return h.status === 503 && h.body.error.storage !== undefined;
      });

      const run = await database.db
        .selectFrom('cron_job_logs')
        .select(['status', 'error'])
        .where('job_name', '=', 'db_backup')
        .where('started_at', '>=', new Date(started - 1000))
        .where('status', '!=', 'skipped')
        .executeTakeFirstOrThrow();
      expect(run.status).toBe('error');
      expect(run.error).toMatch(/object storage is unreachable/);
      const made = await database.db
        .selectFrom('backups')
        .selectAll()
        .where(
          'id',
          'not in',
          before.map((b) => b.id),
        )
        .execute();
      expect(made.map((b) => b.status)).toEqual(['failed']);
      expect(made[0]?.error).toMatch(/object storage is unreachable/);
      const stored = await listBackups(direct, 'backups');
      expect(stored.find((b) => b.id === made[0]?.id)?.state ?? 'nothing stored').not.toBe('complete');

      // Routes that need no storage answer; one that needs it says so (not "database unavailable").
      for (const path of ['/api/auth/me', '/api/admin/system/jobs', '/api/admin/system/cron-logs?limit=5']) {
        expect((await asAdmin(path)).status, path).toBe(200);
      }
      const list = await asAdmin('/api/admin/system/backups');
      expect(list.status).toBe(503);
      expect(errorCode(list)).toBe('STORAGE_UNAVAILABLE');
      expect(envelopeProblems(list)).toEqual([]);

      const restoredAt = Date.now();
      proxy.setMode('pass');
      const healthUpMs = await withinContract(restoredAt, 'health 200', async () => (await health()).status === 200);
      expect((await asAdmin('/api/admin/system/backups')).status).toBe(200);
      const next = await runBackupJob();
      expect(next.status, next.text).toBe(200);
      expect((await listBackups(direct, 'backups')).filter((b) => b.state === 'complete')).toHaveLength(2);
      figures.push({
        database: kind,
        case: 'storage cut mid-upload',
        'backup failed after cut (ms)': failedAfterMs,
        'health 503 after cut (ms)': healthDownMs,
        'health 200 after restore (ms)': healthUpMs,
        'next backup (ms)': (JSON.parse(next.text) as { durationMs: number }).durationMs,
      });
    } finally {
      proxy.setMode('pass');
    }
  }, 600_000);

  it('logged no unexpected exception', () => {
    const lines = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: string; msg: string });
    expect(lines.filter((l) => l.level === 'error' && l.msg === 'request failed')).toEqual([]);
  });
});

afterAll(() => {
  // The measured figures, for the README's Reliability section.
  if (figures.length > 0) console.table(figures);
});
