/** Retries with exponential backoff for the sync sources' transient failures. */

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
