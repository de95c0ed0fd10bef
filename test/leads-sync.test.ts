import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../lib/config.ts';
import { LEADS_CURSOR_SOURCE, leadsSync, syncLeads } from '../lib/crm/leads-sync.ts';
import type { LeadsCursor } from '../lib/crm/mysql-leads-source.ts';
import { readSyncCursor } from '../lib/crm/sync-cursors.ts';
import { runJob } from '../lib/jobs/runner.ts';
import type { JobDefinition } from '../lib/jobs/types.ts';
import { createLogger } from '../lib/logger.ts';
import { TEST_ENV } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { createTestMysql, mysqlSkipReason, type TestMysql } from './support/mysql.ts';
import { ROOT } from './support/paths.ts';
import { spawnProject } from './support/processes.ts';
import { startTcpProxy } from './support/tcp-proxy.ts';
import { seedUser } from './support/users.ts';

const skipReason = await mysqlSkipReason();
const logger = createLogger('error');
const SOURCE_SQL = readFileSync(join(ROOT, 'local/leads-source.sql'), 'utf8');

type SourceLead = {
  id: number;
  name: string | null;
  phone: string | null;
  email: string | null;
  status: string;
  assigned_to: string | null;
  notes: string | null;
  updated_at: string;
};

describe.skipIf(skipReason !== null)(
  `leads_sync against MariaDB${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    describe.each(databaseKinds())('into %s', (kind) => {
      let pg: TestDatabase;
      let my: TestMysql;
      const env = (extra: Record<string, string> = {}) =>
        parseConfig({
          ...TEST_ENV,
          DATABASE_URL: pg.url,
          LEADS_MYSQL_URL: my.url,
          LEADS_SYNC_BATCH_SIZE: '5',
          SYNC_TIMEOUT_MS: '5000',
          ...extra,
        });
      const sync = (extra: Record<string, string> = {}, options: Partial<Parameters<typeof syncLeads>[0]> = {}) =>
        syncLeads({
          db: pg.db,
          config: env(extra),
          logger,
          signal: new AbortController().signal,
          retryBaseMs: 5,
          ...options,
        });

      beforeAll(async () => {
        [pg, my] = await Promise.all([createTestDatabase(kind), createTestMysql()]);
      });
      afterAll(async () => {
        await Promise.all([pg?.drop(), my?.drop()]);
      });
      beforeEach(async () => {
        await my.conn.query('drop table if exists leads');
        await my.conn.query(SOURCE_SQL);
        await my.conn.query('truncate table leads');
        await pg.db.deleteFrom('leads').execute();
        await pg.db.deleteFrom('sync_cursors').execute();
        await pg.db.deleteFrom('cron_job_logs').execute();
      });

      /** Source rows: ids given, or the next ones; all sharing `updatedAt` when given. */
      async function addRows(count: number, options: { updatedAt?: string; from?: number } = {}): Promise<void> {
        const from = options.from ?? (await maxId()) + 1;
        const rows = Array.from({ length: count }, (_, i) => {
          const id = from + i;
          const at =
            options.updatedAt ??
            `2025-11-20 09:${String(Math.floor(id / 60) % 60).padStart(2, '0')}:${String(id % 60).padStart(2, '0')}.${String(id % 1000).padStart(3, '0')}`;
          return [
            id,
            `Lead ${id}`,
            `+91 90000 ${String(id).padStart(5, '0')}`,
            `lead${id}@example.com`,
            'Pune',
            'website',
            'new',
            null,
            null,
            '2025-11-01 10:00:00',
            at,
          ];
        });
        await my.conn.query(
          'insert into leads (id, name, phone, email, city, source, status, assigned_to, notes, created_at, updated_at) values ?',
          [rows],
        );
      }
      async function maxId(): Promise<number> {
        const [rows] = await my.conn.query('select coalesce(max(id), 0) as m from leads');
        return Number((rows as { m: number }[])[0]?.m);
      }
      const sourceRows = async (where = '1=1'): Promise<SourceLead[]> =>
        (
          await my.conn.query(
            `select id, name, phone, email, status, assigned_to, notes, updated_at from leads where ${where} order by id`,
          )
        )[0] as SourceLead[];
      const stored = () =>
        pg.db
          .selectFrom('leads')
          .select([
            'external_id',
            'name',
            'phone',
            'email',
            'status',
            'notes',
            'source_updated_at',
            'assigned_to',
            'source_assignee',
          ])
          .orderBy(sql`external_id::bigint`)
          .execute();

      /** Postgres holds exactly these source rows, once each, with their values. */
      async function expectMirrors(source: SourceLead[]): Promise<void> {
        const rows = await stored();
        expect(
          rows.map((r) => [r.external_id, r.name, r.phone, r.email, r.status, r.source_updated_at?.toISOString()]),
        ).toEqual(
          source.map((s) => [String(s.id), s.name, s.phone, s.email, s.status, `${s.updated_at.replace(' ', 'T')}Z`]),
        );
        const dupes = await sql<{
          n: number;
        }>`select count(*)::int - count(distinct external_id)::int as n from leads`.execute(pg.db);
        expect(dupes.rows[0]?.n).toBe(0);
      }

      it('loads the default source table of local/leads-source.sql, naming the row it skips', async () => {
        await my.conn.query(SOURCE_SQL.slice(SOURCE_SQL.indexOf('INSERT INTO')));
        const result = await sync({ LEADS_SYNC_BATCH_SIZE: '5000' });
        expect(result.recordsProcessed).toBe(40);
        expect(result.message).toMatch(/read 41 rows in 1 batches; 40 new, 0 updated, 0 unchanged/);
        expect(result.message).toMatch(/skipped 1 invalid row: 41 \(email "not-an-email" is malformed\)/);
        await expectMirrors(await sourceRows("email <> 'not-an-email'"));
      });

      it('first run loads every row in batches; later runs add new rows and apply updates, and leave the rest alone', async () => {
        await addRows(23);
        expect((await sync()).message).toMatch(/read 23 rows in 5 batches; 23 new/);
        await expectMirrors(await sourceRows());
        const cursor = await readSyncCursor<LeadsCursor>(pg.db, LEADS_CURSOR_SOURCE);
        expect(cursor).toEqual({ updatedAt: '2025-11-20 09:00:23.023', id: '23' });

        const before = await pg.db
          .selectFrom('leads')
          .select(['external_id', 'synced_at'])
          .where('external_id', '=', '1')
          .executeTakeFirstOrThrow();
        await addRows(4);
        await my.conn.query(
          "update leads set status = 'contacted', name = 'Renamed', updated_at = '2025-11-21 08:00:00.000' where id in (3, 7)",
        );
        const second = await sync();
        expect(second.message).toMatch(/read 6 rows in 2 batches; 4 new, 2 updated, 0 unchanged/);
        await expectMirrors(await sourceRows());
        const after = await pg.db
          .selectFrom('leads')
          .select(['external_id', 'synced_at'])
          .where('external_id', '=', '1')
          .executeTakeFirstOrThrow();
        expect(after.synced_at).toEqual(before.synced_at);
        expect((await sync()).message).toMatch(/read 0 rows in 0 batches/);
      });

      it('rows sharing one updated_at across a batch boundary are each read once', async () => {
        await addRows(3);
        await addRows(12, { updatedAt: '2025-11-25 12:00:00.000' });
        await addRows(2, { updatedAt: '2025-11-25 12:00:01.000' });
        const result = await sync({ LEADS_SYNC_BATCH_SIZE: '4' });
        expect(result.message).toMatch(/read 17 rows in 5 batches; 17 new/);
        await expectMirrors(await sourceRows());
        // Two more at the same instant as the boundary after the first run: the cursor's id picks them up.
        await addRows(2, { updatedAt: '2025-11-25 12:00:01.000' });
        expect((await sync({ LEADS_SYNC_BATCH_SIZE: '4' })).message).toMatch(/read 2 rows in 1 batches; 2 new/);
        await expectMirrors(await sourceRows());
      });

      it('invalid rows are skipped, counted and named, and the rest of their batch goes on', async () => {
        await addRows(6);
        await my.conn.query("update leads set email = 'broken@', updated_at = updated_at where id = 2");
        await my.conn.query(
          'update leads set name = null, phone = null, email = null, updated_at = updated_at where id = 4',
        );
        await my.conn.query("update leads set notes = repeat('x', 10001), updated_at = updated_at where id = 5");
        const result = await sync();
        expect(result.recordsProcessed).toBe(3);
        expect(result.message).toContain(
          'skipped 3 invalid rows: 2 (email "broken@" is malformed), 4 (no name, phone or email), 5 (notes longer than 10000 characters)',
        );
        await expectMirrors(await sourceRows('id in (1, 3, 6)'));
        // Fixed in the source (which bumps updated_at): the next run takes it.
        await my.conn.query(
          "update leads set email = 'fixed@example.com', updated_at = '2025-11-26 00:00:00' where id = 2",
        );
        expect((await sync()).message).toMatch(/1 new/);
        await expectMirrors(await sourceRows('id in (1, 2, 3, 6)'));
      });

      it('a NUL in a source text (MySQL stores it, Postgres text cannot) arrives as U+FFFD, and its batch goes on', async () => {
        await addRows(3);
        await my.conn.query(
          "update leads set name = concat('Ana', char(0), 'Lima'), notes = char(0), updated_at = updated_at where id = 2",
        );
        const result = await sync();
        expect(result.recordsProcessed).toBe(3);
        const rows = await stored();
        expect(rows.map((r) => [r.external_id, r.name, r.notes])).toEqual([
          ['1', 'Lead 1', null],
          ['2', 'Ana\ufffdLima', '\ufffd'],
          ['3', 'Lead 3', null],
        ]);
      });

      it('maps an existing table with other column names (LEADS_MYSQL_TABLE, LEADS_MYSQL_COLUMNS)', async () => {
        await my.conn.query('drop table if exists crm_enquiries');
        await my.conn.query(`create table crm_enquiries (enquiry_no varchar(20) primary key, full_name varchar(100),
        mobile varchar(20), mail varchar(100), stage varchar(20), owner_email varchar(100),
        modified_on timestamp(3) not null, key (modified_on, enquiry_no))`);
        await my.conn.query(`insert into crm_enquiries values ('ENQ-001', 'Asha Rao', '98450 00001', 'asha@example.com', 'Hot', 'AGENT@EXAMPLE.COM', '2025-11-20 10:00:00.000'),
        ('ENQ-002', 'Vikram Singh', null, null, 'cold', null, '2025-11-20 10:00:00.000')`);
        const agent = await seedUser(pg.db, 'agent', { email: 'agent@example.com' });
        const result = await sync({
          LEADS_MYSQL_TABLE: 'crm_enquiries',
          LEADS_MYSQL_COLUMNS:
            'external_id=enquiry_no,name=full_name,phone=mobile,email=mail,status=stage,assigned_to=owner_email,updated_at=modified_on,created_at=modified_on,city=,source=,notes=',
        });
        expect(result.message).toMatch(/2 new/);
        const rows = await pg.db.selectFrom('leads').selectAll().orderBy('external_id').execute();
        expect(rows).toMatchObject([
          {
            external_id: 'ENQ-001',
            name: 'Asha Rao',
            status: 'hot',
            assigned_to: agent.id,
            source_assignee: 'agent@example.com',
            city: null,
          },
          { external_id: 'ENQ-002', name: 'Vikram Singh', status: 'cold', assigned_to: null },
        ]);
        expect(rows[0]?.updated_at.toISOString()).toBe('2025-11-20T10:00:00.000Z');
      });

      it('rows changed within LEADS_SYNC_SETTLE_SECONDS (by the source clock) wait for the next run', async () => {
        await addRows(3);
        await my.conn.query('update leads set updated_at = utc_timestamp(3) where id = 2');
        const first = await sync({ LEADS_SYNC_SETTLE_SECONDS: '600' });
        expect(first.message).toMatch(/read 2 rows in 1 batches; 2 new/);
        expect((await stored()).map((r) => r.external_id)).toEqual(['1', '3']);
        // Once it has settled (here: the window shrinks to nothing), the next run takes it.
        const next = await sync({ LEADS_SYNC_SETTLE_SECONDS: '0' });
        expect(next.message).toMatch(/read 1 rows in 1 batches; 1 new/);
        await expectMirrors(await sourceRows());
      });

      it('reads DATETIME values in LEADS_MYSQL_TIMEZONE', async () => {
        await addRows(1, { updatedAt: '2025-11-20 15:30:00.000' });
        await sync({ LEADS_MYSQL_TIMEZONE: 'Asia/Kolkata' });
        const row = await pg.db.selectFrom('leads').select('source_updated_at').executeTakeFirstOrThrow();
        expect(row.source_updated_at?.toISOString()).toBe('2025-11-20T10:00:00.000Z');
      });

      it('a local edit newer than the source row survives a sync; a newer source change wins', async () => {
        await addRows(2);
        await sync();
        await pg.db
          .updateTable('leads')
          .set({
            status: 'qualified',
            notes: 'called',
            edited_at: new Date('2025-11-22T00:00:00Z'),
            updated_at: new Date('2025-11-22T00:00:00Z'),
          })
          .execute();
        await my.conn.query("update leads set phone = '+91 1', updated_at = '2025-11-21 00:00:00' where id = 1");
        await my.conn.query("update leads set status = 'lost', updated_at = '2025-11-23 00:00:00' where id = 2");
        await sync();
        const rows = await stored();
        expect(rows[0]).toMatchObject({ external_id: '1', phone: '+91 1', status: 'qualified', notes: 'called' });
        expect(rows[1]).toMatchObject({ external_id: '2', status: 'lost', notes: null });
      });

      it('--full resyncs from the start: nothing rewritten, a lost row restored, no duplicates', async () => {
        await addRows(12);
        await sync();
        await pg.db.deleteFrom('leads').where('external_id', '=', '5').execute();
        const full = await sync({}, { full: true });
        expect(full.message).toMatch(/^full resync: read 12 rows in 3 batches; 1 new, 0 updated, 11 unchanged/);
        await expectMirrors(await sourceRows());
        expect((await sync({}, { full: true })).message).toMatch(/0 new, 0 updated, 12 unchanged/);
      });

      it('the source down from the start: an error run with the reason after its tries, nothing written, cursor unmoved', async () => {
        await addRows(7);
        const proxy = await startTcpProxy(my.port);
        try {
          proxy.setMode('refuse');
          const url = new URL(my.url);
          url.port = String(proxy.port);
          url.hostname = '127.0.0.1';
          const deps = {
            db: pg.db,
            config: env({ LEADS_MYSQL_URL: url.toString(), SYNC_MAX_ATTEMPTS: '3' }),
            storage: null,
            logger,
            runtime: 'node',
            holder: 'test',
          };
          const job: JobDefinition = { ...leadsSync, handler: (ctx) => syncLeads({ ...ctx, retryBaseMs: 5 }) };
          const result = await runJob(deps, job, { kind: 'manual' });
          expect(result.outcome).toBe('error');
          expect(result.run?.error).toMatch(
            /^leads source unavailable: .*\(after 3 tries\); nothing was written; the cursor did not move$/,
          );
          expect(await pg.db.selectFrom('leads').select('id').execute()).toEqual([]);
          expect(await readSyncCursor(pg.db, LEADS_CURSOR_SOURCE)).toBeUndefined();
        } finally {
          await proxy.close();
        }
      });

      it('the source going down mid-run: the committed batches stay, exactly up to the cursor; the next run completes', async () => {
        await addRows(40);
        const proxy = await startTcpProxy(my.port);
        try {
          const url = new URL(my.url);
          url.port = String(proxy.port);
          url.hostname = '127.0.0.1';
          const config = env({ LEADS_MYSQL_URL: url.toString() });
          const deps = { db: pg.db, config, storage: null, logger, runtime: 'node', holder: 'test' };
          let cut = false;
          const job: JobDefinition = {
            ...leadsSync,
            handler: (ctx) =>
              syncLeads({
                ...ctx,
                retryBaseMs: 5,
                onBatchCommitted: ({ batches }) => {
                  if (batches === 2 && !cut) {
                    cut = true;
                    proxy.setMode('refuse');
                  }
                },
              }),
          };
          const failed = await runJob(deps, job, { kind: 'manual' });
          expect(failed.outcome).toBe('error');
          expect(failed.run?.error).toMatch(
            /^leads source unavailable: .*\(after 4 tries\); \d batches \(\d+ rows\) were committed before it; the cursor stays after them$/,
          );
          const cursor = (await readSyncCursor<LeadsCursor>(pg.db, LEADS_CURSOR_SOURCE)) as LeadsCursor;
          expect(Number(cursor.id)).toBeGreaterThanOrEqual(10);
          expect(Number(cursor.id)).toBeLessThan(40);
          // Nothing half-written: Postgres holds exactly the source rows up to the cursor.
          await expectMirrors(await sourceRows(`id <= ${Number(cursor.id)}`));

          proxy.setMode('pass');
          const resumed = await runJob(deps, job, { kind: 'manual' });
          expect(resumed.run?.error ?? null).toBeNull();
          expect(resumed.outcome).toBe('success');
          expect(resumed.run?.message).toMatch(new RegExp(`read ${40 - Number(cursor.id)} rows`));
          await expectMirrors(await sourceRows());
        } finally {
          await proxy.close();
        }
      });

      it('a sync SIGKILLed mid-run leaves whole batches only; a rerun completes the mirror without duplicates', async () => {
        await my.conn.query(
          "insert into leads (id, name, email, updated_at) select seq, concat('Bulk ', seq), concat('bulk', seq, '@example.com'), timestamp('2025-11-20 00:00:00') + interval (seq div 3) second from seq_1_to_6000",
        );
        const child = fork(join(ROOT, 'test/fixtures/leads-sync-child.ts'), [], {
          execArgv: ['--import', 'tsx'],
          env: { ...process.env, DATABASE_URL: pg.url, LEADS_MYSQL_URL: my.url, LEADS_SYNC_BATCH_SIZE: '50' },
          stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        });
        await new Promise<void>((resolve, reject) => {
          child.on('message', (m: { committed?: number; outcome?: string }) => {
            if ((m.committed ?? 0) >= 3) resolve();
            if (m.outcome) reject(new Error(`the sync finished (${m.outcome}) before it could be killed`));
          });
          child.once('exit', (code) => reject(new Error(`child exited ${code} before 3 batches`)));
        });
        child.kill('SIGKILL');
        await new Promise((resolve) => child.once('exit', resolve));

        const cursor = (await readSyncCursor<LeadsCursor>(pg.db, LEADS_CURSOR_SOURCE)) as LeadsCursor;
        expect(Number(cursor.id) % 50).toBe(0);
        expect(Number(cursor.id)).toBeLessThan(6000);
        const count = await pg.db
          .selectFrom('leads')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        expect(count.n).toBe(Number(cursor.id));

        // The killed run still holds its lease; once it expires the next run takes over and closes it.
        await pg.db.updateTable('job_locks').set({ locked_until: sql`now() - interval '1 second'` }).execute();
        const deps = {
          db: pg.db,
          config: env({ LEADS_SYNC_BATCH_SIZE: '2000' }),
          storage: null,
          logger,
          runtime: 'node',
          holder: 'rerun',
        };
        const rerun = await runJob(deps, leadsSync, { kind: 'manual' });
        expect(rerun.outcome).toBe('success');
        expect(rerun.run?.message).toMatch(new RegExp(`read ${6000 - Number(cursor.id)} rows`));
        await expectMirrors(await sourceRows());
        const runs = await pg.db
          .selectFrom('cron_job_logs')
          .select(['status', 'error'])
          .where('job_name', '=', 'leads_sync')
          .orderBy('id')
          .execute();
        expect(runs.map((r) => r.status)).toEqual(['error', 'success']);
        expect(runs[0]?.error).toMatch(/^interrupted/);
        // A child process with tsx takes seconds to start on a loaded machine.
      }, 120_000);

      it('npx opsbase cron run leads_sync --full resyncs through the CLI, idempotently', async () => {
        await addRows(9);
        const cli = (...args: string[]) => {
          const run = spawnProject(['bin/opsbase.mjs', 'cron', 'run', 'leads_sync', ...args], {
            ...TEST_ENV,
            DATABASE_URL: pg.url,
            LEADS_MYSQL_URL: my.url,
            LEADS_SYNC_BATCH_SIZE: '4',
          });
          return run.exited.then((code) => ({ code, output: run.output() }));
        };
        const first = await cli();
        expect(first.code, first.output).toBe(0);
        expect(first.output).toMatch(/leads_sync: success in \d+ ms, 9 records\. read 9 rows in 3 batches; 9 new/);
        const full = await cli('--full');
        expect(full.code, full.output).toBe(0);
        expect(full.output).toMatch(/full resync: read 9 rows in 3 batches; 0 new, 0 updated, 9 unchanged/);
        await expectMirrors(await sourceRows());
      }, 90_000);

      it('a mapping naming a column the table lacks fails at once (no retries) with the server’s reason', async () => {
        await addRows(2);
        await expect(sync({ LEADS_MYSQL_COLUMNS: 'name=full_name' })).rejects.toThrow(
          /^leads source failed: Unknown column 'full_name'.*; nothing was written/,
        );
      });
    });
  },
);
