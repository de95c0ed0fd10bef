import { Cron } from 'croner';

/** Parses a cron expression (UTC); throws with croner's message when it is invalid. */
export function cronFor(schedule: string): Cron {
  return new Cron(schedule, { timezone: 'UTC', paused: true });
}

export function nextRunAfter(schedule: string, from: Date): Date | null {
  return cronFor(schedule).nextRun(from);
}

/** What fires the jobs and when each fires next, for health and the admin views. */
export type ScheduleView = { by: 'in-process' | 'cron-triggers'; nextRuns(): Record<string, string | null> };

/** Each job's next fire time from its schedule (UTC). */
export function scheduleView(
  jobs: readonly { name: string; schedule: string }[],
  by: ScheduleView['by'],
): ScheduleView {
  return {
    by,
    nextRuns: () =>
      Object.fromEntries(jobs.map((job) => [job.name, nextRunAfter(job.schedule, new Date())?.toISOString() ?? null])),
  };
}

export function previousRunBefore(schedule: string, reference: Date): Date | null {
  return cronFor(schedule).previousRuns(1, reference)[0] ?? null;
}

/** The longest gap between consecutive runs over the next few (a daily job: 24 h). */
export function periodMs(schedule: string, from = new Date()): number {
  const runs = cronFor(schedule).nextRuns(6, from);
  let longest = 0;
  for (let i = 1; i < runs.length; i++)
    longest = Math.max(longest, (runs[i] as Date).getTime() - (runs[i - 1] as Date).getTime());
  return longest;
}

/**
 * Late: the job has succeeded before, yet no success within its period plus a grace time (the
 * longer of 5 minutes and its timeout). A job that has never run is not late, just new.
 */
export function isLate(
  schedule: string,
  timeoutMs: number,
  lastSuccessAt: Date | undefined,
  now = new Date(),
): boolean {
  if (!lastSuccessAt) return false;
  const grace = Math.max(5 * 60_000, timeoutMs);
  return now.getTime() - lastSuccessAt.getTime() > periodMs(schedule, lastSuccessAt) + grace;
}

/** The same minute-aligned time for every replica that fires one schedule, used as the run's slot. */
export function slotOf(fireTime: Date): Date {
  return new Date(Math.floor(fireTime.getTime() / 60_000) * 60_000);
}
