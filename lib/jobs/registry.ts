import { backupVerify, dbBackup } from '../backup/jobs.ts';
import type { Config } from '../config.ts';
import { attendanceSync } from '../crm/attendance-sync.ts';
import { leadsSync } from '../crm/leads-sync.ts';
import type { Logger } from '../logger.ts';
import { expiredReservations, operatorRatings, overdueTasks } from '../vending/jobs.ts';
import { logCleanup } from './log-cleanup.ts';
import { logPathIndex } from './log-path-index.ts';
import type { JobDefinition } from './types.ts';

/**
 * Every job, in one place. wrangler.toml's [triggers], the in-process scheduler and
 * `opsbase cron crontab` all come from this list (a test fails if wrangler.toml drifts).
 */
export const JOBS: readonly JobDefinition[] = [
  logCleanup,
  logPathIndex,
  attendanceSync,
  leadsSync,
  dbBackup,
  backupVerify,
  overdueTasks,
  expiredReservations,
  operatorRatings,
];

export const JOB_NAME = /^[a-z][a-z0-9_-]{0,63}$/;

/** By name or by one of its aliases (`cleanup` -> log_cleanup). */
export function findJob(nameOrAlias: string, jobs: readonly JobDefinition[] = JOBS): JobDefinition | undefined {
  return jobs.find((job) => job.name === nameOrAlias || job.aliases?.includes(nameOrAlias));
}

/** The distinct cron expressions, for wrangler.toml's [triggers] crons. */
export function scheduleSet(jobs: readonly JobDefinition[] = JOBS): string[] {
  return [...new Set(jobs.map((job) => job.schedule))];
}

/** The jobs a scheduler fires: those whose configuration is complete (the others are named in the log). */
export function scheduledJobs(jobs: readonly JobDefinition[], config: Config, logger: Logger): JobDefinition[] {
  return jobs.filter((job) => {
    const reason = job.unconfigured?.(config);
    if (reason) logger.info('job not scheduled: not configured', { job: job.name, reason });
    return !reason;
  });
}
