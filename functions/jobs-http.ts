import type { Context } from 'hono';
import type { RunnerDeps, RunOutcome } from '../lib/jobs/runner.ts';
import type { AppEnv, Services } from './context.ts';
import { ApiError } from './errors.ts';

/** What background work needs from a process's services (a cluster primary has only these). */
export type BackgroundServices = Pick<
  Services,
  'db' | 'config' | 'storage' | 'logger' | 'runtime' | 'instanceId' | 'startedAt' | 'scratchDatabase'
>;

export function runnerDeps(s: BackgroundServices): RunnerDeps {
  return {
    db: s.db,
    config: s.config,
    storage: s.storage,
    logger: s.logger,
    runtime: s.runtime,
    holder: s.instanceId,
    scratchDatabase: s.scratchDatabase,
  };
}

/**
 * A run as an HTTP answer: 200 with the run on success; 500 JOB_FAILED or 409 CONFLICT with the
 * run in details otherwise, so `curl -sf` in a crontab fails visibly.
 */
export function runResponse(c: Context<AppEnv>, result: RunOutcome) {
  if (result.outcome === 'success' && result.run) return c.json(result.run, 200);
  if (result.outcome === 'error') {
    throw new ApiError(500, 'JOB_FAILED', `job ${result.run?.jobName} failed: ${result.run?.error}`, result.run);
  }
  throw new ApiError(
    409,
    'CONFLICT',
    result.outcome === 'skipped' ? 'skipped: another run of this job holds the lease' : 'this slot already ran',
    result.run,
  );
}
