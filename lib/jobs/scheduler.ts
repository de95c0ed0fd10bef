import type { Logger } from '../logger.ts';
import { scheduledJobs } from './registry.ts';
import { type RunnerDeps, runJob } from './runner.ts';
import { cronFor, slotOf } from './schedule.ts';
import type { JobDefinition } from './types.ts';

export type Scheduler = {
  /** Each job's next fire time, for health and the jobs view. */
  nextRuns(): Record<string, string | null>;
  /** Stops firing and waits for runs in progress. */
  stop(): Promise<void>;
};

/** What time the scheduler believes it is, and how often (real ms) it looks at its schedules. */
export type SchedulerClock = { now(): Date; tickMs: number };

export const REAL_CLOCK: SchedulerClock = { now: () => new Date(), tickMs: 1000 };

/**
 * For tests only (SCHEDULER_CLOCK): a clock that read `simulatedAt` at the real instant `realAt`
 * and runs `speed` times faster. Processes given the same setting share one timeline, so
 * replicas fire the same slots at the same real moment, as they would at the real time.
 */
export function acceleratedClock(setting: { simulatedAt: Date; realAt: Date; speed: number }): SchedulerClock {
  const { simulatedAt, realAt, speed } = setting;
  return {
    now: () => new Date(simulatedAt.getTime() + (Date.now() - realAt.getTime()) * speed),
    tickMs: Math.max(10, Math.round(1000 / speed)),
  };
}

/** Slots a late tick may still fire per job; older missed ones are dropped (no storm after a suspend). */
const MAX_CATCH_UP = 3;

/**
 * The in-process scheduler (Node, ENABLE_SCHEDULED_TASKS). Every tick it fires each job's
 * schedule instants that fell since the previous tick, through the runner with the instant's
 * minute-aligned slot. Every replica may run one: the runner lets a slot run once across them.
 */
export function startScheduler(
  deps: RunnerDeps,
  allJobs: readonly JobDefinition[],
  logger: Logger,
  clock: SchedulerClock = REAL_CLOCK,
): Scheduler {
  const running = new Set<Promise<unknown>>();
  // Jobs whose configuration is missing (no leads source, no storage) are not scheduled.
  const jobs = scheduledJobs(allJobs, deps.config, logger);
  const crons = jobs.map((job) => cronFor(job.schedule));
  const fire = (job: JobDefinition, scheduledFor: Date) => {
    const run = runJob(deps, job, { kind: 'schedule', scheduledFor })
      .then((result) =>
        logger.info('scheduled job finished', {
          job: job.name,
          slot: scheduledFor.toISOString(),
          outcome: result.outcome,
        }),
      )
      .catch((error: Error) => logger.error('scheduled job could not run', { job: job.name, error: error.message }))
      .finally(() => running.delete(run));
    running.add(run);
  };
  // Each job's next instant; a tick that finds it passed fires what fell due up to now.
  const start = clock.now();
  const nextDue = crons.map((cron) => cron.nextRun(start));
  const tick = () => {
    const now = clock.now();
    jobs.forEach((job, i) => {
      const cron = crons[i];
      const first = nextDue[i];
      if (!cron || !first || first > now) return;
      const due = cron
        .previousRuns(MAX_CATCH_UP, new Date(now.getTime() + 1))
        .filter((instant) => instant >= first)
        .reverse();
      // Six-field schedules can fire more than once a minute: one slot, one attempt.
      for (const slot of new Set(due.map((instant) => slotOf(instant).getTime()))) fire(job, new Date(slot));
      nextDue[i] = cron.nextRun(now);
    });
  };
  const timer = setInterval(tick, clock.tickMs);
  timer.unref();
  logger.info('scheduler started', { jobs: jobs.map((j) => `${j.name} (${j.schedule})`) });
  return {
    nextRuns: () =>
      Object.fromEntries(
        jobs.map((job, i) => [job.name, crons[i]?.nextRun(clock.now())?.toISOString() ?? null] as const),
      ),
    async stop() {
      clearInterval(timer);
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}
