import autocannon from 'autocannon';
import { percentile } from './stats.ts';

export type LoadResult = {
  /** 2xx responses during the run. */
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** Responses that were not 2xx, plus connection errors and timeouts: a run with any is not comparable. */
  failures: number;
};

/**
 * Drives a URL with autocannon for a while. Latencies are collected from each response's
 * sub-millisecond timing: autocannon's own histogram keeps whole milliseconds, too coarse for a
 * 1 ms budget.
 */
export async function runLoad(options: {
  url: string;
  connections: number;
  durationSeconds: number;
  headers?: Record<string, string>;
}): Promise<LoadResult> {
  const latencies: number[] = [];
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: 10,
    headers: options.headers,
  });
  instance.on('response', (_client, statusCode, _bytes, ms) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(ms);
  });
  const result = await instance;
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: latencies.length,
    requestsPerSecond: latencies.length / result.duration,
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    p99Ms: percentile(sorted, 99),
    failures: result.non2xx + result.errors, // errors include timeouts
  };
}
