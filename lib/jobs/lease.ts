import type { Db } from '../db/connection.ts';
import type { Logger } from '../logger.ts';
import { leaseJob, releaseJob, renewLease } from './repository.ts';

/** JOB_LEASE_SECONDS' default: how long a dead holder can block its job. */
export const DEFAULT_LEASE_MS = 120_000;

/** The run lost its lease to another holder (it lapsed while renewals failed): it must stop. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

export type HeldLease = {
  /** Aborts once the lease is lost, with a LeaseLostError as the reason. */
  readonly lost: AbortSignal;
  /** Stops the heartbeat and deletes the lease row (if still ours). */
  release(): Promise<void>;
};

export type LeaseRefused = { acquired: false; holder: string; lockedUntil: Date };

/**
 * Takes a job's lease for `leaseMs` and keeps it while the work runs: a heartbeat renews it every
 * third of `leaseMs`, so a holder that dies (SIGKILL, a lost machine) blocks the job for at most
 * `leaseMs`, however long the job may run. A renewal that fails (database away) is retried at the
 * next beat; one that finds the row taken by another holder means the lease lapsed and was taken
 * over: logged, and `lost` aborts. Timers run wherever the work runs (Node, a Worker's waitUntil).
 */
export async function holdLease(
  db: Db,
  jobName: string,
  holder: string,
  options: { leaseMs: number; logger: Logger },
): Promise<{ acquired: true; lease: HeldLease } | LeaseRefused> {
  const { leaseMs, logger } = options;
  const taken = await leaseJob(db, jobName, holder, leaseMs);
  if (!taken.acquired) return taken;

  const lost = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const beat = () => {
    timer = setTimeout(
      () => {
        // A renewal still on the wire at release finds no row of ours and changes nothing.
        void renewLease(db, jobName, holder, leaseMs).then(
          (held) => {
            if (stopped) return;
            if (held) return beat();
            logger.warn('job lease lost: it lapsed and another holder took it; stopping this run', {
              job: jobName,
              holder,
            });
            lost.abort(
              new LeaseLostError(`lost the ${jobName} lease to another holder (it lapsed while renewals failed)`),
            );
          },
          (error: Error) => {
            if (stopped) return;
            logger.warn('could not renew job lease; retrying at the next beat', { job: jobName, error: error.message });
            beat();
          },
        );
      },
      Math.max(1000, Math.floor(leaseMs / 3)),
    );
  };
  beat();
  return {
    acquired: true,
    lease: {
      lost: lost.signal,
      async release() {
        stopped = true;
        clearTimeout(timer);
        await releaseJob(db, jobName, holder);
      },
    },
  };
}
