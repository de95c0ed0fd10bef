import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeviceApi, startDeviceApi } from '../fixtures/device-api.ts';
import { TEST_ENV } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { createTestMysql, mysqlSkipReason, type TestMysql } from '../support/mysql.ts';
import { ROOT } from '../support/paths.ts';
import { waitFor } from '../support/processes.ts';
import { startWorker, type TestWorker } from '../support/worker.ts';

const CRON_SECRET = 'cron-secret-for-workerd-crm-0001';
const skipReason = await mysqlSkipReason();
const cron = { authorization: `Bearer ${CRON_SECRET}` };

// The syncs inside the real Worker: mysql2 over workerd's TCP sockets, the device API over fetch.
describe('the CRM syncs under workerd', () => {
  let database: TestDatabase;
  let device: DeviceApi;
  let my: TestMysql | undefined;
  let worker: TestWorker;

  beforeAll(async () => {
    [database, device, my] = await Promise.all([
      createTestDatabase('pglite'),
      startDeviceApi(),
      skipReason ? undefined : createTestMysql(),
    ]);
    if (my) {
      const schema = readFileSync(join(ROOT, 'local/leads-source.sql'), 'utf8');
      await my.conn.query(schema);
    }
    device.add(
      { id: 'P1', employee_code: 'E1', punch_time: '2026-11-20 09:00:00', direction: 'in', device_id: 'GATE-1' },
      { id: 'P2', employee_code: 'E1', punch_time: '2026-11-20 18:00:00', direction: 'out', device_id: 'GATE-1' },
    );
    worker = await startWorker({
      ...TEST_ENV,
      DATABASE_URL: database.url,
      CRON_SECRET,
      ATTENDANCE_API_URL: device.url,
      ATTENDANCE_API_KEY: device.apiKey,
      ATTENDANCE_TIMEZONE: 'Asia/Kolkata',
      ...(my ? { LEADS_MYSQL_URL: my.url, LEADS_SYNC_BATCH_SIZE: '7' } : {}),
    });
  });
  afterAll(async () => {
    await worker?.dispose();
    await Promise.all([database?.drop(), device?.close(), my?.drop()]);
  });

  it.skipIf(skipReason !== null)(
    `POST /api/cron/leads runs leads_sync with mysql2 on workerd${skipReason ? ` (skipped: ${skipReason})` : ''}`,
    async () => {
      const res = await worker.fetch('/api/cron/leads', { method: 'POST', headers: cron });
      const run = await res.json();
      expect(res.status, JSON.stringify(run)).toBe(200);
      expect(run).toMatchObject({ jobName: 'leads_sync', status: 'success', runtime: 'workerd', recordsProcessed: 40 });
      expect(run.message).toMatch(/read 41 rows in 6 batches; 40 new.*skipped 1 invalid row: 41/);
      const count = await database.db
        .selectFrom('leads')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      expect(count.n).toBe(40);
    },
  );

  it('POST /api/cron/attendance runs attendance_sync over fetch, time zone conversion included', async () => {
    const res = await worker.fetch('/api/cron/attendance', { method: 'POST', headers: cron });
    const run = await res.json();
    expect(res.status, JSON.stringify(run)).toBe(200);
    expect(run).toMatchObject({ jobName: 'attendance_sync', status: 'success', runtime: 'workerd' });
    const rows = await database.db.selectFrom('attendance').select('punched_at').orderBy('punched_at').execute();
    expect(rows.map((r) => r.punched_at.toISOString())).toEqual([
      '2026-11-20T03:30:00.000Z',
      '2026-11-20T12:30:00.000Z',
    ]);
  });

  it('the five-minute cron trigger runs both syncs for its slot', async () => {
    device.add({ id: 'P3', employee_code: 'E2', punch_time: '2026-11-21 09:00:00', direction: 'in' });
    const slot = new Date('2026-11-27T10:05:00Z');
    expect((await worker.scheduled('*/5 * * * *', slot)).status).toBe(200);
    const runs = await waitFor(
      async () => {
        const rows = await database.db
          .selectFrom('cron_job_logs')
          .select(['job_name', 'status', 'trigger'])
          .where('scheduled_for', '=', slot)
          // Other jobs share the schedule (overdue_tasks): only the syncs are this suite's.
          .where('job_name', 'in', ['attendance_sync', 'leads_sync'])
          .orderBy('job_name')
          .execute();
        return rows.length === (skipReason ? 1 : 2) && rows.every((r) => r.status !== 'running') ? rows : undefined;
      },
      20_000,
      'the scheduled runs',
    );
    expect(runs.map((r) => `${r.job_name}:${r.status}:${r.trigger}`)).toEqual(
      skipReason
        ? ['attendance_sync:success:schedule']
        : ['attendance_sync:success:schedule', 'leads_sync:success:schedule'],
    );
  });
});
