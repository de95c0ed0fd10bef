import type { Db } from '../db/connection.ts';
import { closeInterruptedRuns, latestRuns, toJobRun } from './repository.ts';
import { isLate, nextRunAfter, periodMs } from './schedule.ts';
import type { JobDefinition, JobRun } from './types.ts';

export type JobStatusView = {
  name: string;
  description: string;
  schedule: string;
  timeoutMs: number;
  aliases: string[];
  lastRun: JobRun | null;
  lastSuccessAt: string | null;
  nextRunAt: string | null;
  periodMs: number;
  late: boolean;
};

/** Every job with its last run, last success, next expected run and whether it is late. */
export async function jobStatuses(db: Db, jobs: readonly JobDefinition[], now = new Date()): Promise<JobStatusView[]> {
  await closeInterruptedRuns(db);
  const latest = await latestRuns(db);
  return jobs.map((job) => {
    const runs = latest.get(job.name);
    return {
      name: job.name,
      description: job.description,
      schedule: job.schedule,
      timeoutMs: job.timeoutMs,
      aliases: job.aliases ?? [],
      lastRun: runs?.last ? toJobRun(runs.last) : null,
      lastSuccessAt: runs?.lastSuccess?.started_at.toISOString() ?? null,
      nextRunAt: nextRunAfter(job.schedule, now)?.toISOString() ?? null,
      periodMs: periodMs(job.schedule, now),
      late: isLate(job.schedule, job.timeoutMs, runs?.lastSuccess?.started_at, now),
    };
  });
}
