import type { CronJobLog } from '../../schema/database.ts';
import type { ScratchFactory } from '../backup/drill.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/connection.ts';
import type { Logger } from '../logger.ts';
import type { Storage } from '../storage.ts';
import { holdLease } from './lease.ts';
import {
  closeRunsOfOtherHolders,
  finishRun,
  insertRun,
  skipClaimedRun,
  startClaimedRun,
  toJobRun,
} from './repository.ts';
import type { JobDefinition, JobRun, TriggerSpec } from './types.ts';

export type RunnerDeps = {
  db: Db;
  config: Config;
  storage: Storage | null;
  logger: Logger;
  runtime: string;
  /** Who holds the lease while running: host, process and a random part. */
  holder: string;
  /** Passed on to jobs (restore drills of the embedded PGlite). */
  scratchDatabase?: ScratchFactory;
};

/**
 * success / error: the run happened and is recorded. skipped: another run holds the lease
 * (recorded). duplicate: this scheduled slot already has a run (a retried event, or another
 * replica fired the same schedule), so nothing was recorded.
 */
export type RunOutcome = { outcome: 'success' | 'error' | 'skipped' | 'duplicate'; run: JobRun | null };

/**
 * The one path every trigger takes: lease, `running` row, handler under a timeout, outcome,
 * release. A held lease is recorded as skipped; a second delivery of a scheduled slot is a
 * no-op, so a retried scheduled event never runs a job twice. The lease is short
 * (JOB_LEASE_SECONDS) and renewed by a heartbeat while the handler runs, so a crashed holder
 * blocks its job for that long, not for the job's timeout.
 */
export async function runJob(deps: RunnerDeps, job: JobDefinition, trigger: TriggerSpec): Promise<RunOutcome> {
  const { db, logger } = deps;
  const scheduledFor = trigger.scheduledFor ?? null;
  const row = { jobName: job.name, trigger: trigger.kind, scheduledFor, runtime: deps.runtime, holder: deps.holder };
  // A scheduled slot is claimed before the lease is asked for, so that one process alone decides
  // what becomes of it. (Lease first, a replica refused the lease by the run of this very slot
  // could record the slot as skipped before that run recorded itself: the slot never ran.)
  let claim: CronJobLog | null = null;
  if (scheduledFor) {
    claim = await insertRun(db, { ...row, status: 'skipped', message: 'claimed; waiting for the lease' });
    if (!claim) return { outcome: 'duplicate', run: null };
  }
  const lease = await holdLease(db, job.name, deps.holder, { leaseMs: deps.config.jobs.leaseMs, logger });
  if (!lease.acquired) {
    const message = `another run holds the lease (${lease.holder}, until ${lease.lockedUntil.toISOString()})`;
    const skipped = claim
      ? await skipClaimedRun(db, claim.id, message)
      : await insertRun(db, { ...row, status: 'skipped', message });
    logger.info('job skipped: lease held', { job: job.name, holder: lease.holder });
    return skipped ? { outcome: 'skipped', run: toJobRun(skipped) } : { outcome: 'duplicate', run: null };
  }

  try {
    // We hold the lease, so any other row still `running` for this job belongs to a dead process.
    await closeRunsOfOtherHolders(db, job.name, deps.holder);
    const started = claim ? await startClaimedRun(db, claim.id) : await insertRun(db, { ...row, status: 'running' });
    if (!started) return { outcome: 'duplicate', run: null };

    const startedAt = performance.now();
    const controller = new AbortController();
    let outcome: {
      status: 'success' | 'error';
      recordsProcessed: number | null;
      message: string | null;
      error: string | null;
    };
    try {
      const result = await withTimeout(
        job.handler({
          db,
          config: deps.config,
          storage: deps.storage,
          logger: logger.child({ job: job.name }),
          signal: controller.signal,
          options: trigger.options ?? {},
          scratchDatabase: deps.scratchDatabase,
        }),
        job.timeoutMs,
        controller,
        lease.lease.lost,
      );
      outcome = { status: 'success', recordsProcessed: result.recordsProcessed, message: result.message, error: null };
    } catch (error) {
      outcome = { status: 'error', recordsProcessed: null, message: null, error: describe(error) };
      logger.warn('job failed', { job: job.name, error: outcome.error });
    }
    const finished = await finishRun(db, started.id, {
      ...outcome,
      durationMs: Math.round(performance.now() - startedAt),
    });
    return { outcome: outcome.status, run: toJobRun(finished) };
  } finally {
    await lease.lease
      .release()
      .catch((error: Error) =>
        logger.error('could not release job lease; it expires by itself', { job: job.name, error: error.message }),
      );
  }
}

class JobTimeoutError extends Error {
  override name = 'JobTimeoutError';
}

/** The work, stopped (its signal aborted, the race lost) at the timeout or when the lease is lost. */
function withTimeout<T>(work: Promise<T>, ms: number, controller: AbortController, leaseLost: AbortSignal): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onLost: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    const stop = (error: Error) => {
      controller.abort(error);
      reject(error);
    };
    timer = setTimeout(() => stop(new JobTimeoutError(`timed out after ${ms} ms`)), ms);
    onLost = () => stop(leaseLost.reason as Error);
    if (leaseLost.aborted) onLost();
    else leaseLost.addEventListener('abort', onLost, { once: true });
  });
  return Promise.race([work, stopped]).finally(() => {
    clearTimeout(timer);
    if (onLost) leaseLost.removeEventListener('abort', onLost);
  });
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
