import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appFor } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase, withPort } from './support/database.ts';
import { startTestS3, type TestS3 } from './support/s3.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';

async function health(app: ReturnType<typeof appFor>['app']) {
  const started = performance.now();
  const res = await app.request('/api/health');
  return { status: res.status, body: await res.json(), elapsedMs: performance.now() - started };
}

describe.each(databaseKinds())('health when dependencies fail (%s)', (kind) => {
  let database: TestDatabase;
  let s3: TestS3;
  let dbProxy: TcpProxy;
  let s3Proxy: TcpProxy;
  let harness: ReturnType<typeof appFor>;

  beforeAll(async () => {
    [database, s3] = await Promise.all([createTestDatabase(kind), startTestS3()]);
    [dbProxy, s3Proxy] = await Promise.all([startTcpProxy(database.port), startTcpProxy(s3.port)]);
    harness = appFor({
      DATABASE_URL: withPort(database.url, dbProxy.port),
      ...s3.env,
      S3_ENDPOINT: `http://127.0.0.1:${s3Proxy.port}`,
      HEALTH_TIMEOUT_MS: '1000',
    });
  });
  afterAll(async () => {
    await harness?.close();
    await Promise.all([dbProxy?.close(), s3Proxy?.close()]);
    await Promise.all([database?.drop(), s3?.stop()]);
  });

  it('starts healthy', async () => {
    expect((await health(harness.app)).status).toBe(200);
  });

  it('503 naming the database when it refuses connections', async () => {
    dbProxy.setMode('refuse');
    const r = await health(harness.app);
    expect(r.status).toBe(503);
    expect(r.body.status).toBe('error');
    expect(r.body.error.database.status).toBe('down');
    expect(r.body.error.database.message).toEqual(expect.any(String));
    expect(r.body.info.storage.status).toBe('up');
  });

  it('503 naming the database within the timeout when it hangs', async () => {
    dbProxy.setMode('hang');
    const r = await health(harness.app);
    expect(r.status).toBe(503);
    expect(r.body.error.database.message).toMatch(/did not answer within 1000 ms/);
    expect(r.elapsedMs).toBeLessThan(3000); // the contract: health answers within 3 s
  });

  it('503 naming storage when it is unreachable', async () => {
    dbProxy.setMode('pass');
    s3Proxy.setMode('refuse');
    const r = await health(harness.app);
    expect(r.status).toBe(503);
    expect(Object.keys(r.body.error)).toEqual(['storage']);
    expect(r.body.info.database.status).toBe('up');
  });

  it('200 again once both are back, without a restart', async () => {
    s3Proxy.setMode('pass');
    dbProxy.setMode('pass');
    const r = await health(harness.app);
    expect(r.body.error).toEqual({});
    expect(r.status).toBe(200);
  });
});
