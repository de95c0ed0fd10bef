// An open-loop load: requests sent at a fixed rate whatever the answers do, each one's latency
// measured from the moment it was due (not from when it went out), so a stall shows up in every
// request it delays. A closed loop (autocannon's connections, each sending when its answer
// arrives) keeps a server saturated, and its p99 is then the queue, not the server; and
// autocannon's own rate limit sends in bursts. This measures what a p99 target means: the tail
// of a server with headroom.
import { Agent, get } from 'node:http';
import { percentile } from './stats.ts';

export type OpenLoopResult = {
  /** Answers with a 2xx status. */
  requests: number;
  /** Answers with another status, and requests that failed. */
  failures: number;
  p50Ms: number;
  p99Ms: number;
  /** Latest any request went out after it was due (the generator's own lag), ms. */
  maxSendLagMs: number;
  /** Every 2xx answer's latency, ms, ascending: rounds can be pooled before taking a percentile. */
  latencies: Float64Array;
};

/**
 * GETs `url` `ratePerSecond` times a second for `durationSeconds`, over keep-alive connections
 * (as many as are busy at once). The schedule is checked every millisecond; whatever is due goes
 * out then.
 */
export async function runOpenLoop(options: {
  url: string;
  ratePerSecond: number;
  durationSeconds: number;
  headers?: Record<string, string>;
}): Promise<OpenLoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const total = Math.max(1, Math.round(options.ratePerSecond * options.durationSeconds));
  const interval = 1000 / options.ratePerSecond;
  const latencies = new Float64Array(total);
  let answered = 0;
  let failures = 0;
  let sent = 0;
  let maxSendLagMs = 0;
  const start = performance.now();
  try {
    await new Promise<void>((resolve) => {
      const finish = () => {
        if (answered + failures === total) resolve();
      };
      const send = (due: number) => {
        const request = get(options.url, { agent, headers: options.headers }, (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) {
              latencies[answered++] = performance.now() - due;
            } else failures++;
            finish();
          });
        });
        request.on('error', () => {
          failures++;
          finish();
        });
      };
      const tick = () => {
        const now = performance.now();
        while (sent < total && start + sent * interval <= now) {
          const due = start + sent * interval;
          maxSendLagMs = Math.max(maxSendLagMs, now - due);
          sent++;
          send(due);
        }
        if (sent < total) setTimeout(tick, 1);
      };
      tick();
    });
  } finally {
    agent.destroy();
  }
  const sorted = latencies.subarray(0, answered).sort();
  return {
    requests: answered,
    failures,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxSendLagMs,
    latencies: sorted,
  };
}
