import { statfs } from 'node:fs/promises';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const CPU_SAMPLE_MS = 1000;

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
  // CPU use over the last second, sampled in the background: the OS counters only say what
  // happened since boot, and sampling inside the request would make every call wait for it.
  let previous = { ...cpuTimes(), at: Date.now() };
  let last: { busy: number; overMs: number } | null = null;
  const sinceSample = () => {
    const now = { ...cpuTimes(), at: Date.now() };
    const ticks = now.total - previous.total;
    return { now, busy: ticks > 0 ? 1 - (now.idle - previous.idle) / ticks : 0, overMs: now.at - previous.at };
  };
  const sampler = setInterval(() => {
    const { now, busy, overMs } = sinceSample();
    last = { busy, overMs };
    previous = now;
  }, CPU_SAMPLE_MS);
  sampler.unref();
  return async () => {
    // Within the first second there is no full sample yet: report what has passed since start.
    const cpu = last ?? sinceSample();
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
        percent: round(cpu.busy * 100),
        sampledOverMs: cpu.overMs,
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
