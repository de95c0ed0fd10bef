/** Value at percentile p (0-100) of ascending-sorted samples, nearest-rank. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The middle sample, or the mean of the two middle ones for an even count. */
export function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return Number.isInteger(middle) ? (sorted[middle - 1]! + sorted[middle]!) / 2 : sorted[Math.floor(middle)]!;
}

/** Runs `work` `runs` times one after another; the durations in ms, sorted ascending. */
export async function timeMany(runs: number, work: () => Promise<unknown>): Promise<Float64Array> {
  const samples = new Float64Array(runs);
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await work();
    samples[i] = performance.now() - started;
  }
  return samples.sort();
}
