import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ENV } from '../support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase, withPort } from '../support/database.ts';
import { waitFor } from '../support/processes.ts';
import { startTestS3, type TestS3 } from '../support/s3.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { startWorker, type TestWorker } from '../support/worker.ts';

describe.each(databaseKinds())('GET /api/health under workerd, Postgres %s over TCP', (kind) => {
  let database: TestDatabase;
  let s3: TestS3;
  let dbProxy: TcpProxy;
  let s3Proxy: TcpProxy;
  let worker: TestWorker;
  // The isolate's uptime only grows; a restarted Worker would start again from 0.
  let highestUptime = 0;

  beforeAll(async () => {
    [database, s3] = await Promise.all([createTestDatabase(kind), startTestS3()]);
    [dbProxy, s3Proxy] = await Promise.all([startTcpProxy(database.port), startTcpProxy(s3.port)]);
    worker = await startWorker({
      ...TEST_ENV,
      DATABASE_URL: withPort(database.url, dbProxy.port),
      ...s3.env,
      S3_ENDPOINT: `http://127.0.0.1:${s3Proxy.port}`,
      HEALTH_TIMEOUT_MS: '1000',
    });
  });
  afterAll(async () => {
    await worker?.dispose();
    await Promise.all([dbProxy?.close(), s3Proxy?.close()]);
    await Promise.all([database?.drop(), s3?.stop()]);
  });

  async function health() {
    const started = performance.now();
    const res = await worker.fetch('/api/health');
    const body = await res.json();
    highestUptime = Math.max(highestUptime, body.uptimeSeconds ?? 0);
    return { status: res.status, headers: res.headers, body, elapsedMs: performance.now() - started };
  }

  it('answers 200 from workerd with database and storage up', async () => {
    const r = await health();
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      status: 'ok',
      runtime: 'workerd',
      info: { database: { status: 'up' }, storage: { status: 'up' } },
      error: {},
      version: expect.any(String),
    });
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.headers.get('x-request-id')).toMatch(/^[\w-]+$/);
  });

  it("counts uptime from the isolate's first request, not from the frozen module-scope clock", async () => {
    // Date.now() is 0 at module scope on Workers: measured from there, uptime would be ~56 years.
    expect((await health()).body.uptimeSeconds).toBeLessThan(60);
    await waitFor(async () => (await health()).body.uptimeSeconds >= 1, 10_000, 'uptime to reach 1 s');
  });

  it('503 naming the database when it refuses connections', async () => {
    dbProxy.setMode('refuse');
    const r = await health();
    expect(r.status).toBe(503);
    expect(r.body.status).toBe('error');
    expect(Object.keys(r.body.error)).toEqual(['database']);
    expect(r.body.error.database).toMatchObject({ status: 'down', message: expect.any(String) });
    expect(r.body.info.storage.status).toBe('up');
  });

  it('503 naming the database within HEALTH_TIMEOUT_MS when it hangs', async () => {
    dbProxy.setMode('hang');
    const r = await health();
    expect(r.status).toBe(503);
    expect(r.body.error.database.message).toMatch(/did not answer within 1000 ms/);
    expect(r.elapsedMs).toBeLessThan(3000); // the contract: health answers within 3 s
  });

  it('503 naming storage when it refuses connections', async () => {
    dbProxy.setMode('pass');
    s3Proxy.setMode('refuse');
    const r = await health();
    expect(r.status).toBe(503);
    expect(Object.keys(r.body.error)).toEqual(['storage']);
    expect(r.body.info.database.status).toBe('up');
  });

  it('200 again once both are back, from the same isolate without a restart', async () => {
    s3Proxy.setMode('pass');
    const r = await health();
    expect(r.body.error).toEqual({});
    expect(r.status).toBe(200);
    expect(r.body.uptimeSeconds).toBeGreaterThanOrEqual(highestUptime);
  });
});

describe.each(databaseKinds())('health under workerd through a HYPERDRIVE binding (%s)', (kind) => {
  let database: TestDatabase;
  let worker: TestWorker;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
    const url = new URL(database.url);
    url.password ||= 'unused'; // Hyperdrive insists on a password; trust auth ignores it
    worker = await startWorker({ ...TEST_ENV }, { hyperdrive: url.toString() });
  });
  afterAll(async () => {
    await worker?.dispose();
    await database?.drop();
  });

  it('reaches the database through Hyperdrive when DATABASE_URL is unset', async () => {
    const res = await worker.fetch('/api/health');
    expect(res.status).toBe(200);
    expect((await res.json()).info.database.status).toBe('up');
  });
});

describe('a Worker with neither DATABASE_URL nor a HYPERDRIVE binding', () => {
  let worker: TestWorker;
  beforeAll(async () => {
    worker = await startWorker({ ...TEST_ENV });
  });
  afterAll(async () => {
    await worker?.dispose();
  });

  it('answers 503 CONFIG_INVALID naming DATABASE_URL, on health and every other route', async () => {
    for (const path of ['/api/health', '/api/users', '/api/no-such-route']) {
      const res = await worker.fetch(path);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        error: {
          code: 'CONFIG_INVALID',
          message: expect.stringContaining('DATABASE_URL'),
          requestId: res.headers.get('x-request-id'),
          details: { variables: ['DATABASE_URL'] },
        },
      });
    }
  });
});

describe('a Worker with invalid configuration values', () => {
  const values = {
    JWT_SECRET: 'short-jwt-secret',
    CRON_SECRET: 'tiny-cron',
    DATABASE_URL: 'mysql://opsbase:hunter2-db-password@db.internal/opsbase',
    LOG_LEVEL: 'chatty',
  };
  let worker: TestWorker;
  beforeAll(async () => {
    worker = await startWorker({ ...TEST_ENV, ...values });
  });
  afterAll(async () => {
    await worker?.dispose();
  });

  it('answers 503 CONFIG_INVALID naming every bad variable, never what any of them holds', async () => {
    const res = await worker.fetch('/api/health');
    expect(res.status).toBe(503);
    const text = await res.text();
    const { error } = JSON.parse(text);
    expect(error.code).toBe('CONFIG_INVALID');
    expect([...error.details.variables].sort()).toEqual(Object.keys(values).sort());
    for (const name of Object.keys(values)) expect(error.message).toContain(name);
    const logged = worker.logs().join('\n');
    for (const value of Object.values(values)) {
      expect(text).not.toContain(value);
      expect(logged).not.toContain(value);
    }
  });
});
