import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../lib/config.ts';
import { ATTENDANCE_CURSOR_SOURCE, attendanceSync, syncAttendance } from '../lib/crm/attendance-sync.ts';
import { readSyncCursor } from '../lib/crm/sync-cursors.ts';
import { JOBS, scheduledJobs } from '../lib/jobs/registry.ts';
import { runJob } from '../lib/jobs/runner.ts';
import type { JobDefinition } from '../lib/jobs/types.ts';
import { createLogger } from '../lib/logger.ts';
import { type DeviceApi, type LoggedPunch, startDeviceApi } from './fixtures/device-api.ts';
import { TEST_ENV } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';

const logger = createLogger('error');

/** A day of punches at the gate: wall-clock times, as the device keeps them. */
const punch = (
  id: number,
  code: string,
  time: string,
  direction: string,
  extra: Partial<LoggedPunch> = {},
): LoggedPunch => ({
  id: `P${id}`,
  employee_code: code,
  employee_name: `Employee ${code}`,
  punch_time: time,
  direction,
  device_id: 'GATE-1',
  ...extra,
});

describe.each(databaseKinds())('attendance_sync against a local device API (%s)', (kind) => {
  let database: TestDatabase;
  let device: DeviceApi;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await database?.drop();
  });
  beforeEach(async () => {
    device = await startDeviceApi();
    await database.db.deleteFrom('attendance').execute();
    await database.db.deleteFrom('sync_cursors').execute();
    await database.db.deleteFrom('cron_job_logs').execute();
  });
  afterEach(async () => {
    await device.close();
  });

  const config = (extra: Record<string, string> = {}) =>
    parseConfig({
      ...TEST_ENV,
      DATABASE_URL: database.url,
      ATTENDANCE_API_URL: device.url,
      ATTENDANCE_API_KEY: device.apiKey,
      ATTENDANCE_TIMEZONE: 'Asia/Kolkata',
      ATTENDANCE_PAGE_SIZE: '3',
      // Generous: a loaded machine must not time out an answering device (the hang tests set their own).
      SYNC_TIMEOUT_MS: '15000',
      ...extra,
    });
  const sync = (extra: Record<string, string> = {}, full = false) =>
    syncAttendance({
      db: database.db,
      config: config(extra),
      logger,
      signal: new AbortController().signal,
      retryBaseMs: 5,
      full,
    });
  /** The runner around the real job, with the short test backoff. */
  const run = (extra: Record<string, string> = {}) => {
    const job: JobDefinition = { ...attendanceSync, handler: (ctx) => syncAttendance({ ...ctx, retryBaseMs: 5 }) };
    return runJob(
      { db: database.db, config: config(extra), storage: null, logger, runtime: 'node', holder: 'test' },
      job,
      { kind: 'manual' },
    );
  };
  const stored = async () =>
    (
      await database.db
        .selectFrom('attendance')
        .select(['employee_code', 'punched_at', 'direction', 'device_id', 'external_id'])
        .orderBy('punched_at')
        .orderBy('employee_code')
        .execute()
    ).map((r) => `${r.employee_code} ${r.direction} ${r.punched_at.toISOString()} ${r.external_id}`);
  const cursor = () => readSyncCursor<{ since: string }>(database.db, ATTENDANCE_CURSOR_SOURCE);

  const workday = () => [
    punch(1, 'E1', '2026-11-20 09:00:00', 'in'),
    punch(2, 'E2', '2026-11-20 09:05:30', 'IN'),
    punch(3, 'E1', '2026-11-20 13:00:00', 'out'),
    punch(4, 'E1', '2026-11-20 14:00:00', 'in'),
    punch(5, 'E2', '2026-11-20 18:10:00', 'out'),
    punch(6, 'E1', '2026-11-20 18:30:00', 'out'),
    punch(7, 'E3', '2026-11-20 22:15:00', 'in'),
  ];

  it('pages through the device log, converting wall-clock times with ATTENDANCE_TIMEZONE, and resumes from its cursor', async () => {
    device.add(...workday());
    const first = await sync();
    expect(first.message).toMatch(/^received 7 punches in 3 pages; 7 new, 0 already stored/);
    expect(first.message).toMatch(/cursor at since=7$/);
    expect(device.requests.map((r) => r.since)).toEqual([null, '3', '6']);
    expect(await stored()).toEqual([
      'E1 in 2026-11-20T03:30:00.000Z P1',
      'E2 in 2026-11-20T03:35:30.000Z P2',
      'E1 out 2026-11-20T07:30:00.000Z P3',
      'E1 in 2026-11-20T08:30:00.000Z P4',
      'E2 out 2026-11-20T12:40:00.000Z P5',
      'E1 out 2026-11-20T13:00:00.000Z P6',
      'E3 in 2026-11-20T16:45:00.000Z P7',
    ]);
    expect(await cursor()).toEqual({ since: '7' });

    const idle = await sync();
    expect(idle.message).toMatch(/^received 0 punches in 0 pages/);
    device.add(punch(8, 'E3', '2026-11-21 06:00:00', 'out'));
    const next = await sync();
    expect(next.message).toMatch(/^received 1 punches in 1 pages; 1 new/);
    expect(device.requests.at(-1)?.since).toBe('7');
    expect((await stored()).at(-1)).toBe('E3 out 2026-11-21T00:30:00.000Z P8');
  });

  it('drops duplicate punches by the natural key: re-sent in one page, across pages and in a later run', async () => {
    const day = workday();
    device.add(day[0] as LoggedPunch, { ...(day[0] as LoggedPunch), id: 'P1-again' }, day[1] as LoggedPunch);
    // The device re-uploads after a reboot: the same punches, new log ids, next to a new one.
    device.add({ ...(day[1] as LoggedPunch), id: 'P2-again' }, day[2] as LoggedPunch);
    const result = await sync();
    expect(result.message).toMatch(/received 5 punches in 2 pages; 3 new, 2 already stored/);
    device.add({ ...(day[2] as LoggedPunch), id: 'P3-again' });
    expect((await sync()).message).toMatch(/received 1 punches in 1 pages; 0 new, 1 already stored/);
    expect(await stored()).toHaveLength(3);
  });

  it('a 500 on one page is retried with backoff and the run completes with every punch once', async () => {
    device.add(...workday());
    device.failPage('3', 2);
    const result = await run();
    expect(result.outcome).toBe('success');
    expect(device.requests.map((r) => `${r.since}:${r.status}`)).toEqual([
      'null:200',
      '3:500',
      '3:500',
      '3:200',
      '6:200',
    ]);
    expect(await stored()).toHaveLength(7);
  });

  it('a page that keeps failing ends the run as an error with the reason; earlier pages stay, the cursor after them', async () => {
    device.add(...workday());
    device.failPage('3', 10, 503);
    const failed = await run({ SYNC_MAX_ATTEMPTS: '3' });
    expect(failed.outcome).toBe('error');
    expect(failed.run?.error).toMatch(
      /^attendance device API unavailable: device API answered 503: .*\(after 3 tries\); 1 batches \(3 rows\) were committed before it; the cursor stays after them$/,
    );
    expect(await cursor()).toEqual({ since: '3' });
    expect(await stored()).toHaveLength(3);
    device.failPage('3', 0);
    const resumed = await run();
    expect(resumed.run?.message).toMatch(/^received 4 punches in 2 pages; 4 new/);
    expect(await stored()).toHaveLength(7);
  });

  it('a page slower than SYNC_TIMEOUT_MS is abandoned and asked again', async () => {
    device.add(...workday());
    device.hangPage('6', 1);
    const result = await run({ SYNC_TIMEOUT_MS: '2000' });
    expect(result.outcome).toBe('success');
    expect(device.requests.map((r) => `${r.since}:${r.status}`)).toEqual(['null:200', '3:200', '6:hung', '6:200']);
    expect(await stored()).toHaveLength(7);
  });

  it('a device that never answers: an error naming the timeout, nothing written, the cursor unmoved', async () => {
    device.add(...workday());
    device.hangPage(null, 5);
    const failed = await run({ SYNC_MAX_ATTEMPTS: '2', SYNC_TIMEOUT_MS: '500' });
    expect(failed.run?.error).toBe(
      'attendance device API unavailable: device API did not answer within 500 ms (after 2 tries); nothing was written; the cursor did not move',
    );
    expect(await cursor()).toBeUndefined();
    expect(await stored()).toEqual([]);
  });

  it('a wrong API key fails at once (no retries) with the device’s answer', async () => {
    device.add(...workday());
    const failed = await run({ ATTENDANCE_API_KEY: 'wrong-key' });
    expect(failed.run?.error).toMatch(/^attendance device API failed: device API answered 401: .*invalid api key/);
    expect(device.requests).toHaveLength(1);
  });

  it('invalid punches are skipped, counted and named; the rest of the page goes on', async () => {
    device.add(
      punch(1, 'E1', '2026-11-20 09:00:00', 'in'),
      punch(2, '', '2026-11-20 09:01:00', 'in'),
      punch(3, 'E2', '2026-11-31 09:00:00', 'in'),
      punch(4, 'E3', '2026-11-20 09:02:00', 'break'),
      punch(5, 'E4', '2026-11-20 09:03:00', 'out'),
    );
    const result = await sync();
    expect(result.recordsProcessed).toBe(2);
    expect(result.message).toContain(
      'skipped 3 invalid rows: P2 (no employee_code), P3 (punch_time "2026-11-31 09:00:00" is not a date and time), P4 (direction "break" is not in or out)',
    );
    expect(await stored()).toHaveLength(2);
  });

  it('a NUL in a punch’s text arrives as U+FFFD; the page is not refused on every run', async () => {
    device.add(
      punch(1, 'E\u00001', '2026-11-20 09:00:00', 'in', { employee_name: 'Ana\u0000', device_id: 'GATE\u0000' }),
      punch(2, 'E2', '2026-11-20 09:01:00', 'in'),
    );
    const result = await sync();
    expect(result.recordsProcessed).toBe(2);
    const rows = await database.db
      .selectFrom('attendance')
      .select(['employee_code', 'employee_name', 'device_id'])
      .orderBy('employee_code')
      .execute();
    expect(rows).toEqual([
      { employee_code: 'E2', employee_name: 'Employee E2', device_id: 'GATE-1' },
      { employee_code: 'E\ufffd1', employee_name: 'Ana\ufffd', device_id: 'GATE\ufffd' },
    ]);
  });

  it('converts across DST changes: the repeated hour is its first occurrence, the skipped hour moves forward, offsets are exact', async () => {
    device.add(
      // New York falls back on 2026-11-01 at 02:00 EDT -> 01:00 EST.
      punch(1, 'N1', '2026-11-01 00:30:00', 'in'),
      punch(2, 'N1', '2026-11-01 01:30:00', 'out'), // ambiguous: the first 01:30 (EDT)
      punch(3, 'N2', '2026-11-01T01:30:00-05:00', 'in'), // the second 01:30, from a device that sends offsets
      punch(4, 'N2', '2026-11-01 03:00:00', 'out'),
      // ...and springs forward on 2026-03-08: 02:30 does not exist.
      punch(5, 'N3', '2026-03-08 01:59:00', 'in'),
      punch(6, 'N3', '2026-03-08 02:30:00', 'out'),
      punch(7, 'N3', '2026-03-08 03:45:00', 'in'),
      punch(8, 'N4', '2026-11-01T05:30:00Z', 'in'),
    );
    await sync({ ATTENDANCE_TIMEZONE: 'America/New_York', ATTENDANCE_PAGE_SIZE: '100' });
    expect(await stored()).toEqual([
      'N3 in 2026-03-08T06:59:00.000Z P5',
      'N3 out 2026-03-08T07:30:00.000Z P6',
      'N3 in 2026-03-08T07:45:00.000Z P7',
      'N1 in 2026-11-01T04:30:00.000Z P1',
      'N1 out 2026-11-01T05:30:00.000Z P2',
      'N4 in 2026-11-01T05:30:00.000Z P8',
      'N2 in 2026-11-01T06:30:00.000Z P3',
      'N2 out 2026-11-01T08:00:00.000Z P4',
    ]);
  });

  it('unconfigured (ATTENDANCE_API_URL unset): the schedulers leave it out; a manual run records why', async () => {
    const unset = config({ ATTENDANCE_API_URL: '' });
    expect(scheduledJobs(JOBS, unset, logger).map((j) => j.name)).not.toContain('attendance_sync');
    expect(scheduledJobs(JOBS, config(), logger).map((j) => j.name)).toContain('attendance_sync');
    const result = await runJob(
      { db: database.db, config: unset, storage: null, logger, runtime: 'node', holder: 'test' },
      attendanceSync,
      { kind: 'manual' },
    );
    expect(result.run?.error).toBe('attendance_sync is not configured: ATTENDANCE_API_URL is not set');
  });

  it('--full reads the whole log again and stores nothing twice', async () => {
    device.add(...workday());
    await sync();
    const full = await sync({}, true);
    expect(full.message).toMatch(/^full resync: received 7 punches in 3 pages; 0 new, 7 already stored/);
    expect(await stored()).toHaveLength(7);
  });
});
