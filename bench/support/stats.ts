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

/** Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom (1.96 beyond). */
const T95 = [
  12.71, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/**
 * The geometric mean of paired ratios (each one side / the other, measured back to back) with
 * its 95% confidence interval, from the mean and spread of their logarithms. Noise that
 * drifts slower than a pair cancels within each pair; what is left shows as the interval.
 */
export function ratioWithInterval(ratios: number[]): { ratio: number; low: number; high: number } {
  const logs = ratios.map(Math.log);
  const n = logs.length;
  const mean = logs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { ratio: Math.exp(mean), low: Number.NaN, high: Number.NaN };
  const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const half = (T95[n - 2] ?? 1.96) * (sd / Math.sqrt(n));
  return { ratio: Math.exp(mean), low: Math.exp(mean - half), high: Math.exp(mean + half) };
}

/** Sorted samples of several runs, merged into one ascending array. */
export function pooled(runs: ArrayLike<number>[]): Float64Array {
  const all = new Float64Array(runs.reduce((a, r) => a + r.length, 0));
  let at = 0;
  for (const run of runs) {
    all.set(run as ArrayLike<number>, at);
    at += run.length;
  }
  return all.sort();
}

/**
 * The median of paired differences with its distribution-free 95% interval: the order statistics
 * k and n - k + 1, k the largest rank whose binomial(n, 1/2) tail below it is at most 2.5% (the
 * sign test's interval). A few pairs caught in a stall of the machine move it by a rank, where
 * they can move a pooled percentile by their whole stall. Fewer than 6 pairs give no interval.
 */
export function medianWithInterval(differences: number[]): { median: number; low: number; high: number } {
  const sorted = [...differences].sort((a, b) => a - b);
  const n = sorted.length;
  let below = 0; // P(X <= k - 1) for X ~ binomial(n, 1/2)
  let term = 0.5 ** n; // P(X = k - 1), starting at k = 1
  let k = 0;
  while (k < n / 2 && below + term <= 0.025) {
    below += term;
    k++;
    term = (term * (n - k + 1)) / k;
  }
  return {
    median: median(sorted),
    low: k > 0 ? sorted[k - 1]! : Number.NaN,
    high: k > 0 ? sorted[n - k]! : Number.NaN,
  };
}
