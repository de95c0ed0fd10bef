/** Retries with exponential backoff for the sync sources' transient failures. */
import type { Logger } from '../logger.ts';
import { SyncSourceError } from './sync-report.ts';

export type RetryPolicy = {
  /** Tries in all, the first included. */
  attempts: number;
  /** Wait before the second try; doubled each time, with ±25% jitter. */
  baseDelayMs: number;
  signal?: AbortSignal;
  isTransient(error: unknown): boolean;
  onRetry?(error: unknown, attempt: number, delayMs: number): void;
};

/** Runs `work` until it succeeds, fails with a permanent error, or runs out of tries (then the last error). */
export async function withRetry<T>(work: (attempt: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    policy.signal?.throwIfAborted();
    try {
      return await work(attempt);
    } catch (error) {
      if (attempt >= policy.attempts || !policy.isTransient(error) || policy.signal?.aborted) throw error;
      const delayMs = Math.round(policy.baseDelayMs * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5));
      policy.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs, policy.signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export type SourceCallPolicy = {
  /** The source as a run's error names it ("leads source"). */
  source: string;
  attempts: number;
  baseDelayMs: number;
  signal: AbortSignal;
  logger: Logger;
  isTransient(error: unknown): boolean;
  /** What the run has committed so far, for the error. */
  committed(): { batches: number; rows: number };
};

/**
 * One request to a sync source, retried while its failures are transient. When the tries run out
 * (or the failure is permanent) it throws a SyncSourceError with the reason and the progress.
 */
export function callSource<T>(what: string, work: () => Promise<T>, policy: SourceCallPolicy): Promise<T> {
  return withRetry(work, {
    attempts: policy.attempts,
    baseDelayMs: policy.baseDelayMs,
    signal: policy.signal,
    isTransient: policy.isTransient,
    onRetry: (error, attempt, delayMs) =>
      policy.logger.warn(`${policy.source} failed; retrying`, {
        what,
        attempt,
        delayMs,
        error: (error as Error).message,
      }),
  }).catch((error: unknown) => {
    if (policy.signal.aborted) throw error; // the run's own timeout: its runner says so
    throw new SyncSourceError(policy.source, error, policy.attempts, policy.isTransient(error), policy.committed());
  });
}
