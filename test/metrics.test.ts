import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob } from '../lib/jobs/runner.ts';
import type { JobDefinition } from '../lib/jobs/types.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { startTestServer, type TestServer } from './support/node-server.ts';
import { parseSamples } from './support/prometheus.ts';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

describe.each(databaseKinds())('GET /metrics on %s', (kind) => {
  let database: TestDatabase;
  let server: TestServer;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
    server = await startTestServer({ DATABASE_URL: database.url, METRICS_TOKEN });
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  const scrape = (token = METRICS_TOKEN) =>
    server.request('/metrics', { headers: { authorization: `Bearer ${token}` } });

  it('needs METRICS_TOKEN: none or a wrong one is 401 in the envelope', async () => {
    const none = await server.request('/metrics');
    expect(none.status).toBe(401);
    expect((await none.json()).error.code).toBe('UNAUTHORIZED');
    expect((await scrape('wrong-token-0123456789abcdef')).status).toBe(401);
  });

  it('counts real requests by route and status, with a latency histogram', async () => {
    for (let i = 0; i < 3; i++) await server.request('/api/health');
    await server.request('/api/nowhere');
    await server.request('/api/users'); // 401: no token
    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toContain('# TYPE opsbase_http_requests_total counter');
    const samples = parseSamples(text);
    expect(samples.get('opsbase_http_requests_total{method="GET",route="/api/health",status="200"}')).toBe(3);
    expect(samples.get('opsbase_http_requests_total{method="GET",route="(unmatched)",status="404"}')).toBe(1);
    expect(samples.get('opsbase_http_requests_total{method="GET",route="/api/users",status="401"}')).toBe(1);
    // The histogram's buckets are cumulative and end at the count.
    const count = samples.get('opsbase_http_request_duration_seconds_count{method="GET",route="/api/health"}');
    expect(count).toBe(3);
    expect(
      samples.get('opsbase_http_request_duration_seconds_bucket{method="GET",route="/api/health",le="+Inf"}'),
    ).toBe(3);
    const buckets = [...samples]
      .filter(([name]) =>
        name.startsWith('opsbase_http_request_duration_seconds_bucket{method="GET",route="/api/health"'),
      )
      .map(([, value]) => value);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    expect(samples.get('opsbase_http_request_duration_seconds_sum{method="GET",route="/api/health"}')).toBeGreaterThan(
      0,
    );
    // Scrapes do not count themselves.
    expect(text).not.toContain('route="/metrics"');
    expect(samples.get('opsbase_database_up')).toBe(1);
  });

  it('shows each job’s last success time and last status, and the log writer’s figures', async () => {
    const job: JobDefinition = {
      name: 'log_cleanup',
      schedule: '0 3 * * *',
      timeoutMs: 5000,
      description: 'stand-in run recorded under the registry job’s name',
      async handler() {
        return { recordsProcessed: 0, message: 'ok' };
      },
    };
    const before = Math.floor(Date.now() / 1000);
    const result = await runJob({ ...server.services, holder: 'test', runtime: 'node' }, job, { kind: 'manual' });
    expect(result.outcome).toBe('success');
    const samples = parseSamples(await (await scrape()).text());
    expect(samples.get('opsbase_job_last_success_timestamp_seconds{job="log_cleanup"}')).toBeGreaterThanOrEqual(
      before - 1,
    );
    expect(samples.get('opsbase_job_last_status{job="log_cleanup",status="success"}')).toBe(1);
    expect(samples.get('opsbase_job_last_status{job="log_cleanup",status="error"}')).toBe(0);
    expect(samples.get('opsbase_job_late{job="log_cleanup"}')).toBe(0);
    const stats = server.services.requestLogs.stats();
    expect(samples.get('opsbase_request_log_dropped_total')).toBe(stats.dropped);
    expect(samples.has('opsbase_request_log_written_total')).toBe(true);
    expect(samples.get('opsbase_alert_incidents_open')).toBe(0);
    expect(samples.get('opsbase_worker_http_requests_total{worker="main"}')).toBeGreaterThan(0);
    expect(samples.get('opsbase_backup_last_success_timestamp_seconds')).toBe(0);
    expect(samples.has('opsbase_backup_age_seconds')).toBe(false);
  });

  it('shows the newest complete backup’s time and age', async () => {
    await database.db
      .insertInto('backups')
      .values({
        id: 'metrics-backup',
        status: 'complete',
        trigger: 'cli',
        holder: 'test',
        finished_at: new Date(Date.now() - 3600_000),
      })
      .execute();
    const samples = parseSamples(await (await scrape()).text());
    const finished = samples.get('opsbase_backup_last_success_timestamp_seconds') ?? 0;
    expect(Math.abs(finished - (Date.now() / 1000 - 3600))).toBeLessThan(120);
    expect(samples.get('opsbase_backup_age_seconds')).toBeGreaterThanOrEqual(3600);
  });
});

describe('GET /metrics without METRICS_TOKEN', () => {
  it('answers 503 naming the variable', async () => {
    const database = await createTestDatabase('pglite');
    const server = await startTestServer({ DATABASE_URL: database.url });
    try {
      const res = await server.request('/metrics', { headers: { authorization: 'Bearer anything-at-all-123456' } });
      expect(res.status).toBe(503);
      expect((await res.json()).error.message).toContain('METRICS_TOKEN');
    } finally {
      await server.close();
      await database.drop();
    }
  });
});
