/** Upper bounds (seconds) of the request latency histogram, Prometheus-style (le). */
export const DURATION_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Plain data, so cluster workers can send it to the primary over IPC and it can be summed. */
export type HttpMetricsSnapshot = {
  /** "METHOD route status" -> requests. */
  requests: Record<string, number>;
  /** "METHOD route" -> cumulative-free bucket counts (one per bound, plus +Inf), sum and count. */
  durations: Record<string, { buckets: number[]; sumSeconds: number; count: number }>;
};

/**
 * Request counters and a latency histogram per route template, in memory. The route is the
 * matched template (/api/users/:id) or "(unmatched)", and unknown methods count as OTHER, so a
 * client cannot grow the label set.
 */
export class HttpMetrics {
  #requests = new Map<string, number>();
  #durations = new Map<string, { buckets: number[]; sumSeconds: number; count: number }>();

  observe(method: string, route: string | null, status: number, durationMs: number): void {
    const m = KNOWN_METHODS.has(method) ? method : 'OTHER';
    const r = route ?? '(unmatched)';
    const requestKey = `${m} ${r} ${status}`;
    this.#requests.set(requestKey, (this.#requests.get(requestKey) ?? 0) + 1);
    const durationKey = `${m} ${r}`;
    let histogram = this.#durations.get(durationKey);
    if (!histogram) {
      histogram = { buckets: Array(DURATION_BUCKETS_SECONDS.length + 1).fill(0), sumSeconds: 0, count: 0 };
      this.#durations.set(durationKey, histogram);
    }
    const seconds = durationMs / 1000;
    const index = DURATION_BUCKETS_SECONDS.findIndex((bound) => seconds <= bound);
    const slot = index === -1 ? DURATION_BUCKETS_SECONDS.length : index;
    histogram.buckets[slot] = (histogram.buckets[slot] ?? 0) + 1;
    histogram.sumSeconds += seconds;
    histogram.count++;
  }

  snapshot(): HttpMetricsSnapshot {
    return {
      requests: Object.fromEntries(this.#requests),
      durations: Object.fromEntries(
        [...this.#durations].map(([key, h]) => [
          key,
          { buckets: [...h.buckets], sumSeconds: h.sumSeconds, count: h.count },
        ]),
      ),
    };
  }
}

/** Sums several processes' snapshots (a cluster's workers) into one. */
export function mergeSnapshots(snapshots: HttpMetricsSnapshot[]): HttpMetricsSnapshot {
  const merged: HttpMetricsSnapshot = { requests: {}, durations: {} };
  for (const snapshot of snapshots) {
    for (const [key, count] of Object.entries(snapshot.requests)) {
      merged.requests[key] = (merged.requests[key] ?? 0) + count;
    }
    for (const [key, h] of Object.entries(snapshot.durations)) {
      const into = merged.durations[key] ?? { buckets: Array(h.buckets.length).fill(0), sumSeconds: 0, count: 0 };
      merged.durations[key] = into;
      h.buckets.forEach((n, i) => {
        into.buckets[i] = (into.buckets[i] ?? 0) + n;
      });
      into.sumSeconds += h.sumSeconds;
      into.count += h.count;
    }
  }
  return merged;
}
