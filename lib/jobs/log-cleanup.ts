import { sql } from 'kysely';
import { deleteExpiredRateLimitWindows } from '../rate-limit.ts';
import { deleteRunsBefore } from './repository.ts';
import type { JobDefinition } from './types.ts';

const DAY_MS = 86_400_000;

/**
 * Daily housekeeping: job history past CRON_LOG_RETENTION_DAYS, ended rate-limit windows and
 * stale login-failure counters. Request log partitions join this job with request logging.
 */
export const logCleanup: JobDefinition = {
  name: 'log_cleanup',
  schedule: '0 3 * * *',
  timeoutMs: 10 * 60_000,
  description: 'Deletes job history older than CRON_LOG_RETENTION_DAYS and expired throttling counters',
  aliases: ['cleanup'],
  async handler({ db, config, signal }) {
    const cutoff = new Date(Date.now() - config.jobs.cronLogRetentionDays * DAY_MS);
    const runs = await deleteRunsBefore(db, cutoff, 5000, signal);
    const windows = await deleteExpiredRateLimitWindows(
      db,
      new Date(Date.now() - config.rateLimit.windowSeconds * 1000),
    );
    const throttles = await db
      .deleteFrom('login_throttles')
      .where('window_started_at', '<', sql<Date>`now() - make_interval(secs => ${config.auth.throttle.windowSeconds})`)
      .executeTakeFirst();
    const throttleRows = Number(throttles.numDeletedRows);
    return {
      recordsProcessed: runs + windows + throttleRows,
      message: `deleted ${runs} job runs older than ${cutoff.toISOString()}, ${windows} rate-limit windows, ${throttleRows} login counters`,
    };
  },
};
