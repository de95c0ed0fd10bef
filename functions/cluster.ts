import cluster, { type Worker } from 'node:cluster';
import { availableParallelism, hostname } from 'node:os';
import type { Config } from '../lib/config.ts';
import { createDb, createPool } from '../lib/db/connection.ts';
import { migrateOrThrow } from '../lib/db/migrate.ts';
import type { Logger } from '../lib/logger.ts';
import type { ProcessMetrics } from '../lib/metrics/prometheus.ts';
import { createStorage } from '../lib/storage.ts';
import type { BackgroundServices } from './jobs-http.ts';

// WEB_CONCURRENCY=N|max: the primary forks N HTTP workers sharing the port (node:cluster), runs
// the scheduler and the alert monitor once, restarts a worker that dies, and on SIGTERM stops
// every worker gracefully (each flushes its request logs) before it exits itself.

/** Messages between the primary and its workers, for GET /metrics across the cluster. */
type Message =
  | { type: 'opsbase:metrics:collect'; id: number }
  | { type: 'opsbase:metrics:report'; id: string }
  | { type: 'opsbase:metrics:snapshot'; id: string; data: ProcessMetrics }
  | { type: 'opsbase:metrics:result'; id: number; data: ProcessMetrics[] };

const COLLECT_TIMEOUT_MS = 2000;
const WORKER_ENV = 'OPSBASE_CLUSTER_WORKER';

export function workerCount(setting: number | 'max'): number {
  return setting === 'max' ? availableParallelism() : setting;
}

/** This process's worker slot ("1".."N") when it is a cluster worker, else undefined. */
export function clusterWorkerSlot(): string | undefined {
  return cluster.isWorker ? process.env[WORKER_ENV] : undefined;
}

const isMessage = (value: unknown): value is Message =>
  typeof value === 'object' && value !== null && String((value as { type?: unknown }).type).startsWith('opsbase:');

export type ClusterWorkerLink = {
  /** Starts answering the primary with this worker's figures; returns the cluster-wide collector. */
  attach(read: () => Omit<ProcessMetrics, 'worker'>): () => Promise<ProcessMetrics[]>;
};

/**
 * In a worker: answers the primary's requests for this worker's figures, and gathers every
 * worker's through the primary (only this worker's if the primary does not answer in time).
 */
export function clusterWorkerLink(slot: string): ClusterWorkerLink {
  return {
    attach(read) {
      const local = (): ProcessMetrics => ({ worker: slot, ...read() });
      const pending = new Map<number, (data: ProcessMetrics[]) => void>();
      let nextId = 0;
      process.on('message', (message: unknown) => {
        if (!isMessage(message)) return;
        if (message.type === 'opsbase:metrics:report') {
          process.send?.({ type: 'opsbase:metrics:snapshot', id: message.id, data: local() } satisfies Message);
        } else if (message.type === 'opsbase:metrics:result') {
          pending.get(message.id)?.(message.data);
        }
      });
      return () => {
        const id = ++nextId;
        return new Promise((resolve) => {
          const timer = setTimeout(() => {
            pending.delete(id);
            resolve([local()]);
          }, COLLECT_TIMEOUT_MS + 500);
          pending.set(id, (data) => {
            clearTimeout(timer);
            pending.delete(id);
            resolve(data);
          });
          process.send?.({ type: 'opsbase:metrics:collect', id } satisfies Message);
        });
      };
    },
  };
}

/**
 * The primary: migrations (MIGRATE_ON_START), the background work, N workers kept running, the
 * metrics exchange, and a graceful stop on SIGTERM/SIGINT.
 */
export async function runClusterPrimary(
  config: Config,
  logger: Logger,
  count: number,
  /** From functions/node.ts (passed in: that module is the entry that imports this one). */
  node: {
    startBackgroundWork(s: BackgroundServices): { stop(): Promise<void> };
    onShutdownSignal(stop: () => Promise<void>, logger: Logger): void;
  },
): Promise<void> {
  const startedAt = Date.now();
  const pool = createPool(config.databaseUrl as string, {
    max: 3,
    ssl: config.databaseSsl,
    onError: (error) => logger.warn('idle database connection lost', { error: error.message }),
  });
  const db = createDb(pool);
  if (config.migrateOnStart) {
    const applied = await migrateOrThrow(db);
    if (applied.length > 0) logger.info('migrations applied', { migrations: applied.map((r) => r.migrationName) });
  }
  const background = node.startBackgroundWork({
    db,
    config,
    storage: config.s3 ? createStorage(config.s3) : null,
    logger,
    runtime: 'node',
    instanceId: `${hostname()}:${process.pid}:primary`,
    startedAt,
  });

  const slots = new Map<number, string>();
  let stopping = false;
  // A worker that dies young is restarted after a growing delay, so a crash loop cannot spin.
  let quickDeaths = 0;
  const fork = (slot: string) => {
    const worker = cluster.fork({ [WORKER_ENV]: slot });
    slots.set(worker.id, slot);
    const forkedAt = Date.now();
    worker.once('exit', (code, signal) => {
      slots.delete(worker.id);
      if (stopping) return;
      quickDeaths = Date.now() - forkedAt < 10_000 ? quickDeaths + 1 : 0;
      const delay = Math.min(30_000, 1000 * quickDeaths);
      logger.error('worker exited; starting another', { worker: slot, code, signal, inMs: delay });
      setTimeout(() => {
        if (!stopping) fork(slot);
      }, delay).unref();
    });
  };
  for (let slot = 1; slot <= count; slot++) fork(String(slot));
  logger.info('cluster started', { workers: count, port: config.port });

  // GET /metrics on any worker: the primary asks every live worker and answers with all replies.
  let gatherSeq = 0;
  const gathering = new Map<string, { replies: ProcessMetrics[]; expected: number; finish(): void }>();
  cluster.on('message', (from: Worker, message: unknown) => {
    if (!isMessage(message)) return;
    if (message.type === 'opsbase:metrics:collect') {
      const id = `${++gatherSeq}`;
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => Boolean(w?.isConnected()));
      const entry = {
        replies: [] as ProcessMetrics[],
        expected: workers.length,
        finish() {
          clearTimeout(timer);
          gathering.delete(id);
          const data = [...entry.replies].sort((a, b) => a.worker.localeCompare(b.worker, 'en', { numeric: true }));
          if (from.isConnected()) from.send({ type: 'opsbase:metrics:result', id: message.id, data } satisfies Message);
        },
      };
      const timer = setTimeout(() => entry.finish(), COLLECT_TIMEOUT_MS);
      gathering.set(id, entry);
      for (const worker of workers) worker.send({ type: 'opsbase:metrics:report', id } satisfies Message);
    } else if (message.type === 'opsbase:metrics:snapshot') {
      const entry = gathering.get(message.id);
      if (!entry) return;
      entry.replies.push(message.data);
      if (entry.replies.length >= entry.expected) entry.finish();
    }
  });

  node.onShutdownSignal(async () => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => Boolean(w));
    // Each worker stops accepting, finishes its requests and writes its buffered request logs.
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.isDead()) return resolve();
            worker.once('exit', () => resolve());
            worker.process.kill('SIGTERM');
          }),
      ),
    );
    await background.stop();
    await db.destroy();
    logger.info('cluster stopped', { workers: workers.length });
  }, logger);
}
