import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../lib/config.ts';
import { JOBS, scheduledJobs } from '../lib/jobs/registry.ts';
import { cronFor, slotOf } from '../lib/jobs/schedule.ts';
import { createLogger } from '../lib/logger.ts';
import { type DeviceApi, startDeviceApi } from './fixtures/device-api.ts';
import { TEST_ENV } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { createTestMysql, mysqlSkipReason, type TestMysql } from './support/mysql.ts';
import { type ServerProcess, startServerProcess } from './support/node-server.ts';
import { ROOT } from './support/paths.ts';
import { waitFor } from './support/processes.ts';

// Two Node server processes on one database, both running the in-process scheduler, over a
// simulated hour of every job in the registry (jobs added later are covered without an edit).
// Time is simulated with SCHEDULER_CLOCK (tests only): both processes share one accelerated
// timeline, so they fire the same slots at the same real moment, and each slot goes through the
// real runner: the slot claim, the lease and (job_name, scheduled_for) uniqueness decide.
// Contract: every slot of the hour runs exactly once, and both processes fired every slot. The
// CRM syncs are configured (a local device API; MariaDB when MYSQL_URL answers) so that their
// five-minute schedules are in the hour.

/** An hour with a 5-minute job's twelve slots, log_cleanup's 03:00 and nothing daily at 02:00. */
const WINDOW_START = new Date('2026-01-01T02:30:00.000Z');
const WINDOW_END = new Date('2026-01-01T03:30:00.000Z');
/** Simulated seconds per real second: the hour takes 30 s, a five-minute slot 2.5 s. */
const SPEED = 120;
/** Real time for both processes to start before the simulated hour begins (more on a retry). */
const LEAD_MS = 20_000;

type Fired = { job: string; slot: string; outcome: string; process: number };

describe.each(databaseKinds())('two replicas with the in-process scheduler over a simulated hour (%s)', (kind) => {
  let database: TestDatabase;
  let device: DeviceApi;
  let mysql: TestMysql | undefined;
  let replicas: ServerProcess[] = [];
  /** "job slot" for every slot of the hour of every job the replicas schedule. */
  let expected: string[] = [];

  beforeAll(async () => {
    [database, device] = await Promise.all([createTestDatabase(kind), startDeviceApi()]);
    device.add({ id: 'p-1', employee_code: 'E1', punch_time: '2026-01-01T02:00:00', direction: 'in' });
    const env: Record<string, string> = {
      DATABASE_URL: database.url,
      ENABLE_SCHEDULED_TASKS: 'true',
      ATTENDANCE_API_URL: device.url,
      ATTENDANCE_API_KEY: device.apiKey,
    };
    if ((await mysqlSkipReason()) === null) {
      mysql = await createTestMysql();
      await mysql.conn.query(readFileSync(join(ROOT, 'local/leads-source.sql'), 'utf8'));
      env.LEADS_MYSQL_URL = mysql.url;
    }
    const scheduled = scheduledJobs(JOBS, parseConfig({ ...TEST_ENV, ...env }), createLogger('error'));
    expected = scheduled.flatMap((job) => {
      const cron = cronFor(job.schedule);
      const slots: string[] = [];
      for (let at = cron.nextRun(new Date(WINDOW_START.getTime() - 1)); at && at < WINDOW_END; at = cron.nextRun(at)) {
        slots.push(`${job.name} ${slotOf(at).toISOString()}`);
      }
      return slots;
    });
    let realStart: Date;
    for (let attempt = 1, lead = LEAD_MS; ; attempt++) {
      const spawnedAt = Date.now();
      realStart = new Date(spawnedAt + lead);
      env.SCHEDULER_CLOCK = `${WINDOW_START.toISOString()}@${realStart.toISOString()}*${SPEED}`;
      replicas = await Promise.all([startServerProcess(env), startServerProcess(env)]);
      if (Date.now() < realStart.getTime()) break;
      // A loaded machine started them after the hour had begun: again, on a clean slate, with more lead.
      await Promise.all(replicas.map((r) => r.stop()));
      await database.db.deleteFrom('cron_job_logs').execute();
      await database.db.deleteFrom('job_locks').execute();
      if (attempt === 3) throw new Error(`the replicas did not start within ${lead} ms, three times`);
      lead = 2 * (Date.now() - spawnedAt) + 5_000;
    }
    // The hour passes in real time (WINDOW / SPEED); then every slot of it must have finished.
    const realEnd = realStart.getTime() + (WINDOW_END.getTime() - WINDOW_START.getTime()) / SPEED;
    await waitFor(async () => Date.now() > realEnd, LEAD_MS + 120_000, 'the end of the simulated hour');
    await waitFor(
      async () => {
        const open = await database.db
          .selectFrom('cron_job_logs')
          .select('id')
          .where('status', '=', 'running')
          .execute();
        return open.length === 0 && expected.every((key) => firedBy(key).length === 2);
      },
      60_000,
      'every slot of the hour fired by both replicas and finished',
    );
  }, 300_000);
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await Promise.all([database?.drop(), device?.close(), mysql?.drop()]);
  });

  /** What the replicas logged for each slot they fired. */
  function fired(): Fired[] {
    return replicas.flatMap((replica, process) =>
      replica
        .output()
        .split('\n')
        .filter((line) => line.includes('"scheduled job finished"'))
        .map((line) => ({ ...(JSON.parse(line) as Omit<Fired, 'process'>), process })),
    );
  }
  const firedBy = (key: string) => fired().filter((f) => `${f.job} ${f.slot}` === key);

  it('the hour has slots of several jobs: the five-minute syncs and the daily log_cleanup', () => {
    expect(expected.filter((key) => key.startsWith('attendance_sync ')).length).toBe(12);
    expect(expected).toContain('log_cleanup 2026-01-01T03:00:00.000Z');
  });

  it('every slot of the hour ran exactly once: one row each, run (success or error), none skipped or left running', async () => {
    const rows = await database.db
      .selectFrom('cron_job_logs')
      .select(['job_name', 'scheduled_for', 'status', 'trigger', 'holder', 'error'])
      .where('scheduled_for', '>=', WINDOW_START)
      .where('scheduled_for', '<', WINDOW_END)
      .execute();
    const keys = rows.map((r) => `${r.job_name} ${r.scheduled_for?.toISOString()}`);
    expect(keys.sort()).toEqual([...expected].sort());
    expect(rows.filter((r) => r.status !== 'success' && r.status !== 'error' && r.trigger === 'schedule')).toEqual([]);
  });

  it('both replicas fired every slot, and exactly one of them ran it (the other found it claimed)', () => {
    const problems = expected.flatMap((key) => {
      const attempts = firedBy(key);
      const ran = attempts.filter((f) => f.outcome === 'success' || f.outcome === 'error');
      const processes = new Set(attempts.map((f) => f.process));
      return ran.length === 1 && processes.size === 2 && attempts.length === 2
        ? []
        : [`${key}: ${attempts.map((f) => `replica ${f.process} ${f.outcome}`).join(', ') || 'never fired'}`];
    });
    expect(problems).toEqual([]);
  });

  it('no claim was left behind anywhere on the timeline, in or out of the hour', async () => {
    // The timeline runs on past the hour: stop both (a clean shutdown finishes the runs in
    // flight), so a claim caught between its row and its lease is not taken for one left behind.
    await Promise.all(replicas.map((r) => r.stop()));
    const stuck = await database.db
      .selectFrom('cron_job_logs')
      .select(['job_name', 'scheduled_for', 'message'])
      .where('message', '=', 'claimed; waiting for the lease')
      .execute();
    expect(stuck).toEqual([]);
  });
});
