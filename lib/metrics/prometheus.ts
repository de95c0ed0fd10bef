import type { JobStatusView } from '../jobs/status.ts';
import type { WriterStats } from '../observability/request-log-writer.ts';
import { DURATION_BUCKETS_SECONDS, type HttpMetricsSnapshot, mergeSnapshots } from './http-metrics.ts';

/** One process's in-memory figures: a cluster worker's, or the single process's. */
export type ProcessMetrics = { worker: string; http: HttpMetricsSnapshot; requestLogs: WriterStats };

export type MetricsInput = {
  processes: ProcessMetrics[];
  build: { version: string; commit: string | null; runtime: string };
  startedAt: number;
  /** null when the database could not be read for this scrape. */
  database: { jobs: JobStatusView[]; openIncidents: number; newestBackupAt?: Date | null } | null;
  now: Date;
};

const JOB_STATUSES = ['success', 'error', 'running', 'skipped'] as const;

/** Label values escaped as the text format wants (backslash, double quote, newline). */
const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function labels(pairs: Record<string, string>): string {
  const parts = Object.entries(pairs).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

const seconds = (date: Date | string) => Math.floor(new Date(date).getTime() / 1000);

/** The Prometheus text exposition format (version 0.0.4). */
export function renderPrometheus(input: MetricsInput): string {
  const out: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge' | 'histogram', help: string) =>
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  const sample = (name: string, pairs: Record<string, string>, value: number) =>
    out.push(`${name}${labels(pairs)} ${Number.isFinite(value) ? value : 0}`);

  metric('opsbase_build_info', 'gauge', 'The running build: version, deployed commit and runtime.');
  sample(
    'opsbase_build_info',
    { version: input.build.version, commit: input.build.commit ?? 'unknown', runtime: input.build.runtime },
    1,
  );
  metric('opsbase_process_start_time_seconds', 'gauge', 'When the server (cluster primary) started, Unix time.');
  sample('opsbase_process_start_time_seconds', {}, Math.floor(input.startedAt / 1000));

  const http = mergeSnapshots(input.processes.map((p) => p.http));
  metric('opsbase_http_requests_total', 'counter', 'HTTP requests by method, route template and status.');
  for (const [key, count] of Object.entries(http.requests).sort()) {
    const [method = '', status = ''] = [key.slice(0, key.indexOf(' ')), key.slice(key.lastIndexOf(' ') + 1)];
    const route = key.slice(key.indexOf(' ') + 1, key.lastIndexOf(' '));
    sample('opsbase_http_requests_total', { method, route, status }, count);
  }
  metric('opsbase_http_request_duration_seconds', 'histogram', 'HTTP request latency by method and route template.');
  for (const [key, h] of Object.entries(http.durations).sort()) {
    const method = key.slice(0, key.indexOf(' '));
    const route = key.slice(key.indexOf(' ') + 1);
    let cumulative = 0;
    DURATION_BUCKETS_SECONDS.forEach((bound, i) => {
      cumulative += h.buckets[i] ?? 0;
      sample('opsbase_http_request_duration_seconds_bucket', { method, route, le: String(bound) }, cumulative);
    });
    sample('opsbase_http_request_duration_seconds_bucket', { method, route, le: '+Inf' }, h.count);
    sample('opsbase_http_request_duration_seconds_sum', { method, route }, Number(h.sumSeconds.toFixed(6)));
    sample('opsbase_http_request_duration_seconds_count', { method, route }, h.count);
  }
  metric('opsbase_worker_http_requests_total', 'counter', 'HTTP requests served by each worker process.');
  for (const p of input.processes) {
    sample(
      'opsbase_worker_http_requests_total',
      { worker: p.worker },
      Object.values(p.http.requests).reduce((a, b) => a + b, 0),
    );
  }

  const sum = (pick: (s: WriterStats) => number) =>
    input.processes.reduce((total, p) => total + pick(p.requestLogs), 0);
  metric('opsbase_request_log_dropped_total', 'counter', 'Request log rows dropped because the buffer was full.');
  sample(
    'opsbase_request_log_dropped_total',
    {},
    sum((s) => s.dropped),
  );
  metric('opsbase_request_log_written_total', 'counter', 'Request log rows written to the database.');
  sample(
    'opsbase_request_log_written_total',
    {},
    sum((s) => s.written),
  );
  metric('opsbase_request_log_backlog', 'gauge', 'Request log rows waiting in memory.');
  sample(
    'opsbase_request_log_backlog',
    {},
    sum((s) => s.backlog),
  );

  metric('opsbase_database_up', 'gauge', '1 when this scrape could read the database.');
  sample('opsbase_database_up', {}, input.database ? 1 : 0);
  if (input.database) {
    const { jobs } = input.database;
    /** A gauge with one sample per job. */
    const perJob = (name: string, help: string, value: (job: JobStatusView) => number) => {
      metric(name, 'gauge', help);
      for (const job of jobs) sample(name, { job: job.name }, value(job));
    };
    perJob(
      'opsbase_job_last_success_timestamp_seconds',
      'Last successful run of each job, Unix time (0: never).',
      (job) => (job.lastSuccessAt ? seconds(job.lastSuccessAt) : 0),
    );
    perJob(
      'opsbase_job_last_run_timestamp_seconds',
      'Start of the last run of each job, Unix time (0: never).',
      (job) => (job.lastRun ? seconds(job.lastRun.startedAt) : 0),
    );
    metric('opsbase_job_last_status', 'gauge', "1 for the status of each job's last run, 0 for the others.");
    for (const job of jobs) {
      for (const status of JOB_STATUSES) {
        sample('opsbase_job_last_status', { job: job.name, status }, job.lastRun?.status === status ? 1 : 0);
      }
    }
    perJob('opsbase_job_late', '1 when a job has no success within its period plus grace.', (job) =>
      job.late ? 1 : 0,
    );
    metric('opsbase_alert_incidents_open', 'gauge', 'Alert incidents currently open.');
    sample('opsbase_alert_incidents_open', {}, input.database.openIncidents);
    if (input.database.newestBackupAt !== undefined) {
      const newest = input.database.newestBackupAt;
      metric('opsbase_backup_last_success_timestamp_seconds', 'gauge', 'Newest complete backup, Unix time (0: none).');
      sample('opsbase_backup_last_success_timestamp_seconds', {}, newest ? seconds(newest) : 0);
      if (newest) {
        metric('opsbase_backup_age_seconds', 'gauge', 'Age of the newest complete backup.');
        sample(
          'opsbase_backup_age_seconds',
          {},
          Math.max(0, Math.floor((input.now.getTime() - newest.getTime()) / 1000)),
        );
      }
    }
  }
  return `${out.join('\n')}\n`;
}
