import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ENV } from '../support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/database.ts';
import { waitFor } from '../support/processes.ts';
import { parseSamples } from '../support/prometheus.ts';
import { startJsonReceiver } from '../support/receivers.ts';
import { startWorker, type TestWorker } from '../support/worker.ts';

const METRICS_TOKEN = 'workerd-metrics-token-0123456789';

// Alerts and /metrics on the real Worker under workerd: the rules run after each cron event, and
// the alert reaches a local Slack-style webhook over HTTP.
describe('the Worker under workerd: alerts on cron events, /metrics', () => {
  let database: TestDatabase;
  let webhook: Awaited<ReturnType<typeof startJsonReceiver>>;
  let worker: TestWorker;

  beforeAll(async () => {
    [database, webhook] = await Promise.all([
      createTestDatabase(databaseKinds().at(-1) ?? 'pglite'),
      startJsonReceiver(),
    ]);
    worker = await startWorker({
      ...TEST_ENV,
      DATABASE_URL: database.url,
      ALERT_WEBHOOK_URL: `${webhook.url}/hook`,
      ALERT_AFTER_FAILURES: '1',
      METRICS_TOKEN,
    });
  });
  afterAll(async () => {
    await worker?.dispose();
    await webhook?.close();
    await database?.drop();
  });

  it('a cron event checks the alert rules: a failed job alerts once, however many events follow', async () => {
    await database.db
      .insertInto('cron_job_logs')
      .values({
        job_name: 'log_cleanup',
        status: 'error',
        trigger: 'schedule',
        error: 'boom',
        runtime: 'workerd',
        holder: 't',
      })
      .execute();
    // A cron no job uses: nothing runs but the alert check.
    expect((await worker.scheduled('*/7 * * * *', new Date('2026-11-24T10:07:00Z'))).ok).toBe(true);
    await waitFor(async () => webhook.received.length > 0, 20_000, 'the alert');
    expect(String(webhook.received[0]?.body.text)).toContain('Job log_cleanup failed its last run. Last error: boom');
    expect((await worker.scheduled('*/7 * * * *', new Date('2026-11-24T10:14:00Z'))).ok).toBe(true);
    const open = await database.db.selectFrom('alert_incidents').selectAll().where('resolved_at', 'is', null).execute();
    expect(open.map((i) => i.key)).toEqual(['job_failing:log_cleanup']);
    expect(webhook.received).toHaveLength(1);
  });

  it('serves /metrics with the token: this isolate’s requests and the job figures', async () => {
    expect((await worker.fetch('/metrics')).status).toBe(401);
    await worker.fetch('/api/health');
    const res = await worker.fetch('/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    const samples = parseSamples(await res.text());
    expect(
      samples.get('opsbase_http_requests_total{method="GET",route="/api/health",status="200"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(samples.get('opsbase_job_last_status{job="log_cleanup",status="error"}')).toBe(1);
    expect(samples.get('opsbase_database_up')).toBe(1);
    expect(samples.has('opsbase_build_info{version="0.1.0",commit="unknown",runtime="workerd"}')).toBe(true);
  });
});
