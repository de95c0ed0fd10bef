import { sql } from 'kysely';
import {
  dropRequestLogPartitionsBefore,
  ensureRequestLogPartitions,
  indexClosedRequestLogPartitions,
} from '../observability/partitions.ts';
import { deleteExpiredRateLimitWindows } from '../rate-limit.ts';
import { deleteRunsBefore } from './repository.ts';
import type { JobDefinition } from './types.ts';

const DAY_MS = 86_400_000;

/**
 * Daily housekeeping: request log partitions and rollups past REQUEST_LOG_RETENTION_DAYS, job
 * history past CRON_LOG_RETENTION_DAYS, ended rate-limit windows, stale login-failure counters.
 */
export const logCleanup: JobDefinition = {
  name: 'log_cleanup',
  schedule: '0 3 * * *',
  timeoutMs: 10 * 60_000,
  description:
    'Drops request log partitions past REQUEST_LOG_RETENTION_DAYS (and makes the coming days), deletes job history past CRON_LOG_RETENTION_DAYS and expired throttling counters',
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
    // Request logs: whole daily partitions past retention go; the next days' are made ahead, so
    // an insert never finds its day missing (the writer also creates one if it ever does).
    const logCutoff = new Date(Date.now() - config.requestLogs.retentionDays * DAY_MS);
    const droppedPartitions = await dropRequestLogPartitionsBefore(db, logCutoff);
    await ensureRequestLogPartitions(db, new Date(), 3);
    // Yesterday's partition is complete: it gets its full path search index, if log_path_index
    // has not given it already (today's hours get a partial one from that job).
    const indexedPartitions = await indexClosedRequestLogPartitions(db);
    const rollupRows = [
      await db.deleteFrom('request_log_minutes').where('minute', '<', logCutoff).executeTakeFirst(),
      await db.deleteFrom('request_log_minute_totals').where('minute', '<', logCutoff).executeTakeFirst(),
      await db.deleteFrom('request_log_error_hours').where('hour', '<', logCutoff).executeTakeFirst(),
      // A day goes once all of it is past retention, as its partition does.
      await db
        .deleteFrom('request_log_error_days')
        .where('day', '<', new Date(logCutoff.getTime() - DAY_MS))
        .executeTakeFirst(),
    ].reduce((sum, r) => sum + Number(r.numDeletedRows), 0);
    return {
      recordsProcessed: runs + windows + throttleRows + droppedPartitions.length + rollupRows,
      message: `deleted ${runs} job runs older than ${cutoff.toISOString()}, ${windows} rate-limit windows, ${throttleRows} login counters; dropped ${droppedPartitions.length} request log partitions (${droppedPartitions.join(', ') || 'none'}) and ${rollupRows} rollup rows; indexed ${indexedPartitions.length} closed partitions for path search (${indexedPartitions.join(', ') || 'none'})`,
    };
  },
};
