import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ENV } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { freePort, spawnProject } from './support/processes.ts';
import { parseSamples } from './support/prometheus.ts';

// WEB_CONCURRENCY=2: the real entry (functions/node.ts) as a node:cluster primary with two HTTP
// workers, against a real database.

const METRICS_TOKEN = 'cluster-metrics-token-0123456789';

/** A GET on a fresh connection (no keep-alive), so the cluster spreads them over its workers. */
function get(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('WEB_CONCURRENCY=2 (node:cluster)', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(databaseKinds().at(-1) ?? 'pglite');
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('serves on both workers, runs one scheduler, and SIGTERM flushes every worker’s request logs', async () => {
    const port = await freePort();
    const server = spawnProject(['--import', 'tsx', 'functions/node.ts'], {
      ...TEST_ENV,
      LOG_LEVEL: 'info',
      DATABASE_URL: database.url,
      HOST: '127.0.0.1',
      PORT: String(port),
      WEB_CONCURRENCY: '2',
      ENABLE_SCHEDULED_TASKS: 'true',
      MIGRATE_ON_START: 'false',
      METRICS_TOKEN,
      // Rows stay buffered until shutdown, so the test can tell the SIGTERM flush wrote them.
      REQUEST_LOG_FLUSH_INTERVAL_MS: '600000',
    });
    try {
      await server.waitForOutput(/"msg":"listening"[^\n]*"worker":"1"|"worker":"1"[^\n]*"msg":"listening"/);
      await server.waitForOutput(/"msg":"listening"[^\n]*"worker":"2"|"worker":"2"[^\n]*"msg":"listening"/);

      const ids = Array.from({ length: 30 }, (_, i) => `cluster-${i}`);
      for (const id of ids) expect((await get(port, '/api/nowhere', { 'x-request-id': id })).status).toBe(404);

      const metrics = await get(port, '/metrics', { authorization: `Bearer ${METRICS_TOKEN}` });
      expect(metrics.status).toBe(200);
      const samples = parseSamples(metrics.body);
      const perWorker = [1, 2].map((w) => samples.get(`opsbase_worker_http_requests_total{worker="${w}"}`) ?? 0);
      // Both workers served some of the requests, and the scrape adds them up across the cluster.
      expect(perWorker[0]).toBeGreaterThan(0);
      expect(perWorker[1]).toBeGreaterThan(0);
      expect(samples.get('opsbase_http_requests_total{method="GET",route="(unmatched)",status="404"}')).toBe(30);
      expect(samples.get('opsbase_request_log_backlog')).toBe(30);

      const logged = () =>
        database.db
          .selectFrom('request_logs')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('request_id', 'in', ids)
          .executeTakeFirstOrThrow()
          .then((row) => Number(row.n));
      expect(await logged()).toBe(0);

      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      expect(await logged()).toBe(30);
      const output = server.output();
      expect(output.match(/"msg":"scheduler started"/g)).toHaveLength(1);
      expect(output).toMatch(/"msg":"cluster stopped"/);
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    }
  }, 120_000);
});
