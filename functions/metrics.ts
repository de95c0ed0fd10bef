import { alertIncidentCount } from '../lib/alerts/repository.ts';
import { newestCompleteBackup } from '../lib/backup/repository.ts';
import { JOBS } from '../lib/jobs/registry.ts';
import { jobStatuses } from '../lib/jobs/status.ts';
import { type MetricsInput, type ProcessMetrics, renderPrometheus } from '../lib/metrics/prometheus.ts';
import { APP_VERSION, withTimeout } from '../lib/runtime.ts';
import { createFunction } from './base.ts';
import type { Services } from './context.ts';
import { requireBearerSecret } from './middleware/cron-secret.ts';

/** This process's figures, or every cluster worker's when the server runs as a cluster. */
export function processMetrics(s: Services): Promise<ProcessMetrics[]> {
  if (s.collectProcessMetrics) return s.collectProcessMetrics();
  return Promise.resolve([{ worker: 'main', http: s.httpMetrics.snapshot(), requestLogs: s.requestLogs.stats() }]);
}

async function databaseFigures(s: Services): Promise<MetricsInput['database']> {
  try {
    const [jobs, openIncidents, newestBackup] = await withTimeout(
      Promise.all([jobStatuses(s.db, JOBS), alertIncidentCount(s.db), newestCompleteBackup(s.db)]),
      s.config.healthTimeoutMs,
      'database',
    );
    return { jobs, openIncidents, newestBackupAt: newestBackup?.finishedAt ?? null };
  } catch (error) {
    s.logger.warn('metrics: database figures unavailable', { error: (error as Error).message });
    return null;
  }
}

/**
 * GET /metrics in the Prometheus text format, behind `Authorization: Bearer <METRICS_TOKEN>`.
 * In-memory figures (requests, latency, log writer) are summed over a cluster's workers; job
 * and alert figures come from the database and are left out (opsbase_database_up 0) when it is away.
 */
export const metrics = createFunction().get(
  '/metrics',
  requireBearerSecret('METRICS_TOKEN', (config) => config.metricsToken, 'GET /metrics is disabled'),
  async (c) => {
    const s = c.get('services');
    const [processes, database] = await Promise.all([processMetrics(s), databaseFigures(s)]);
    const body = renderPrometheus({
      processes,
      build: { version: APP_VERSION, commit: s.config.deployCommit ?? null, runtime: s.runtime },
      startedAt: s.startedAt,
      database,
      now: new Date(),
    });
    return c.body(body, 200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
      'cache-control': 'no-store',
    });
  },
);
