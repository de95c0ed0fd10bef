import type { Config } from '../config.ts';
import type { JobContext, JobDefinition, JobResult } from '../jobs/types.ts';
import { insertPunchBatch, type PunchRecord, validatePunch } from './attendance.ts';
import { type DevicePage, fetchPunchPage, isTransientDeviceError } from './attendance-source.ts';
import { callSource } from './retry.ts';
import { readSyncCursor } from './sync-cursors.ts';
import { describeRejected, isRejected, type RejectedRow } from './sync-report.ts';

export const ATTENDANCE_CURSOR_SOURCE = 'attendance';

/** The device's own paging position: what to send as `since` next. */
export type AttendanceCursor = { since: string };

/** Base wait before retrying a failed page (doubled per try). Tests shorten it. */
export const ATTENDANCE_RETRY_BASE_MS = 250;

function unconfigured(config: Config): string | null {
  return config.crm.attendance.apiUrl ? null : 'ATTENDANCE_API_URL is not set';
}

/**
 * Pages through the device API from the stored since-cursor; each page's new punches and the
 * cursor after it commit in one statement. Device wall-clock times become UTC with
 * ATTENDANCE_TIMEZONE; a punch already stored (same employee, device and instant) is dropped.
 */
export async function syncAttendance(
  ctx: Pick<JobContext, 'db' | 'config' | 'logger' | 'signal'> & { full?: boolean; retryBaseMs?: number },
): Promise<JobResult> {
  const reason = unconfigured(ctx.config);
  if (reason) throw new Error(`attendance_sync is not configured: ${reason}`);
  const { db, logger, signal } = ctx;
  const settings = ctx.config.crm.attendance;
  const { timeoutMs, maxAttempts } = ctx.config.crm.sync;
  const api = { url: settings.apiUrl as string, apiKey: settings.apiKey, timeoutMs };

  const totals = { pages: 0, received: 0, inserted: 0 };
  const rejected: RejectedRow[] = [];
  let since = ctx.full ? undefined : (await readSyncCursor<AttendanceCursor>(db, ATTENDANCE_CURSOR_SOURCE))?.since;
  for (;;) {
    const page: DevicePage = await callSource('page', () => fetchPunchPage(api, since, settings.pageSize, signal), {
      source: 'attendance device API',
      attempts: maxAttempts,
      baseDelayMs: ctx.retryBaseMs ?? ATTENDANCE_RETRY_BASE_MS,
      signal,
      logger,
      isTransient: isTransientDeviceError,
      committed: () => ({ batches: totals.pages, rows: totals.received }),
    });
    const punches = new Map<string, PunchRecord>();
    for (const raw of page.punches) {
      const result = validatePunch(raw, settings.timeZone);
      if (isRejected(result)) rejected.push(result);
      else punches.set(`${result.employeeCode}\u0000${result.deviceId}\u0000${result.punchedAt.getTime()}`, result);
    }
    const moved = page.nextSince !== since;
    if (page.punches.length > 0 || moved) {
      totals.inserted += await insertPunchBatch(db, [...punches.values()], {
        source: ATTENDANCE_CURSOR_SOURCE,
        value: { since: page.nextSince } satisfies AttendanceCursor,
      });
      totals.pages++;
      totals.received += page.punches.length;
    }
    since = page.nextSince;
    if (!page.hasMore) break;
    signal.throwIfAborted();
  }

  const valid = totals.received - rejected.length;
  const parts = [
    `${ctx.full ? 'full resync: ' : ''}received ${totals.received} punches in ${totals.pages} pages`,
    `${totals.inserted} new, ${valid - totals.inserted} already stored (dropped by the natural key)`,
  ];
  if (rejected.length > 0) parts.push(describeRejected(rejected));
  parts.push(since === undefined ? 'the device has no punches yet' : `cursor at since=${since}`);
  for (const row of rejected) logger.warn('punch skipped', { punch: row.externalId, reason: row.reason });
  return { recordsProcessed: valid, message: parts.join('; ') };
}

export const attendanceSync: JobDefinition = {
  name: 'attendance_sync',
  schedule: '*/5 * * * *',
  timeoutMs: 4 * 60_000,
  description:
    'Pulls punches from the attendance device API (ATTENDANCE_API_URL) by since-cursor, converts ATTENDANCE_TIMEZONE wall-clock times to UTC, drops duplicates by (employee, device, instant)',
  aliases: ['attendance'],
  unconfigured,
  handler: (ctx) => syncAttendance({ ...ctx, full: ctx.options.full === true }),
};
