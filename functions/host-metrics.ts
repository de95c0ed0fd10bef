import { statfs } from 'node:fs/promises';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

function cpuTimes() {
  return cpus().reduce(
    (acc, cpu) => {
      const t = cpu.times;
      acc.idle += t.idle;
      acc.total += t.user + t.nice + t.sys + t.idle + t.irq;
      return acc;
    },
    { idle: 0, total: 0 },
  );
}

/** Host and process figures for the admin metrics view (Node only). */
export function hostMetricsFor(diskPath: string): () => Promise<Record<string, unknown>> {
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  // The OS counters only say what happened since boot, so CPU use is a difference between two
  // readings: since the previous call when that was 0.1-60 s ago (a dashboard polling every few
  // seconds answers at once), else over a fresh 100 ms sample.
  let previous: { times: ReturnType<typeof cpuTimes>; at: number } | undefined;
  return async () => {
    const now = performance.now();
    let before = previous && now - previous.at >= 100 && now - previous.at <= 60_000 ? previous : undefined;
    if (!before) {
      before = { times: cpuTimes(), at: now };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const after = cpuTimes();
    previous = { times: after, at: performance.now() };
    const busy = 1 - (after.idle - before.times.idle) / Math.max(1, after.total - before.times.total);
    let disk: Record<string, unknown>;
    try {
      const fs = await statfs(diskPath);
      const total = fs.blocks * fs.bsize;
      const free = fs.bavail * fs.bsize;
      disk = {
        available: true,
        path: diskPath,
        totalBytes: total,
        freeBytes: free,
        usedPercent: round(((total - free) / total) * 100),
      };
    } catch (error) {
      disk = { available: false, reason: `statfs ${diskPath}: ${(error as Error).message}` };
    }
    const memory = process.memoryUsage();
    const metrics = {
      cpu: {
        available: true,
        percent: round(busy * 100),
        sampleMs: Math.round(previous.at - before.at),
        cores: cpus().length,
        loadAverage: loadavg().map((n) => round(n, 2)),
      },
      memory: {
        available: true,
        totalBytes: totalmem(),
        freeBytes: freemem(),
        usedPercent: round(((totalmem() - freemem()) / totalmem()) * 100),
      },
      disk,
      process: {
        available: true,
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        uptimeSeconds: Math.round(process.uptime()),
      },
      eventLoop: {
        available: true,
        lagP50Ms: round(loop.percentile(50) / 1e6, 2),
        lagP99Ms: round(loop.percentile(99) / 1e6, 2),
        lagMaxMs: round(loop.max / 1e6, 2),
      },
    };
    loop.reset();
    return metrics;
  };
}
