import { Cron } from 'croner';
import type { Logger } from '../logger.ts';
import { scheduledJobs } from './registry.ts';
import { type RunnerDeps, runJob } from './runner.ts';
import { slotOf } from './schedule.ts';
import type { JobDefinition } from './types.ts';

export type Scheduler = {
  /** Each job's next fire time, for health and the jobs view. */
  nextRuns(): Record<string, string | null>;
  /** Stops firing and waits for runs in progress. */
  stop(): Promise<void>;
};

/**
 * The in-process scheduler (Node, ENABLE_SCHEDULED_TASKS). Every replica may run one: each fire
 * goes through the runner with its minute-aligned slot, so a slot runs once across replicas.
 */
export function startScheduler(deps: RunnerDeps, allJobs: readonly JobDefinition[], logger: Logger): Scheduler {
  const running = new Set<Promise<unknown>>();
  const jobs = scheduledJobs(allJobs, deps.config, logger);
  const crons = jobs.map(
    (job) =>
      new Cron(job.schedule, { timezone: 'UTC', protect: true }, (self: Cron) => {
        const scheduledFor = slotOf(self.currentRun() ?? new Date());
        const run = runJob(deps, job, { kind: 'schedule', scheduledFor })
          .then((result) => logger.info('scheduled job finished', { job: job.name, outcome: result.outcome }))
          .catch((error: Error) =>
            logger.error('scheduled job could not run', { job: job.name, error: error.message }),
          );
        running.add(run);
        return run.finally(() => running.delete(run));
      }),
  );
  logger.info('scheduler started', { jobs: jobs.map((j) => `${j.name} (${j.schedule})`) });
  return {
    nextRuns: () => Object.fromEntries(crons.map((c, i) => [jobs[i]?.name ?? '', c.nextRun()?.toISOString() ?? null])),
    async stop() {
      for (const cron of crons) cron.stop();
      await Promise.allSettled([...running]);
    },
  };
}
