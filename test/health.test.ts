import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveFunction } from '../functions/base.ts';
import { health } from '../functions/health.ts';
import { startNodeServer } from '../functions/node.ts';
import { parseConfig } from '../lib/config.ts';
import { createLogger } from '../lib/logger.ts';
import { appFor, TEST_ENV } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { startTestS3, type TestS3 } from './support/s3.ts';

describe.each(databaseKinds())('GET /api/health on %s', (kind) => {
  let database: TestDatabase;
  let s3: TestS3;
  beforeAll(async () => {
    [database, s3] = await Promise.all([createTestDatabase(kind), startTestS3()]);
  });
  afterAll(async () => {
    await Promise.all([database?.drop(), s3?.stop()]);
  });

  it('answers 200 with database and storage up, version and runtime', async () => {
    const { app, close } = appFor({ DATABASE_URL: database.url, ...s3.env, DEPLOY_COMMIT: 'abc1234' });
    try {
      const res = await app.request('/api/health');
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toMatchObject({
        status: 'ok',
        info: { database: { status: 'up' }, storage: { status: 'up' } },
        error: {},
        version: expect.any(String),
        commit: 'abc1234',
        runtime: 'node',
      });
      expect(body.info.database.latencyMs).toBeGreaterThanOrEqual(0);
      expect(body.uptimeSeconds).toBeGreaterThanOrEqual(0);
      expect(res.headers.get('cache-control')).toBe('no-store');
    } finally {
      await close();
    }
  });

  it('reports storage as unconfigured, not down, when S3_ENDPOINT is unset', async () => {
    const { app, close } = appFor({ DATABASE_URL: database.url });
    try {
      const res = await app.request('/api/health');
      expect(res.status).toBe(200);
      expect((await res.json()).info.storage).toEqual({ status: 'unconfigured', message: 'S3_ENDPOINT is not set' });
    } finally {
      await close();
    }
  });

  it('can be served alone from functions/health.ts', async () => {
    const { services, close } = appFor({ DATABASE_URL: database.url, ...s3.env });
    try {
      const alone = serveFunction(health, { acquire: () => services });
      const res = await alone.request('/api/health');
      expect(res.status).toBe(200);
      expect((await res.json()).status).toBe('ok');
      // Nothing else is mounted: other paths are 404 with the envelope.
      const other = await alone.request('/api/users');
      expect(other.status).toBe(404);
      expect((await other.json()).error.code).toBe('NOT_FOUND');
    } finally {
      await close();
    }
  });

  it('answers through a real listening Node server', async () => {
    const config = parseConfig({
      ...TEST_ENV,
      DATABASE_URL: database.url,
      ...s3.env,
      HOST: '127.0.0.1',
      PORT: '0',
      MIGRATE_ON_START: 'true',
    });
    const server = await startNodeServer(config, { logger: createLogger('error') });
    try {
      const res = await fetch(`${server.url}/api/health`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toMatch(/^[\w-]+$/);
      expect((await res.json()).status).toBe('ok');
    } finally {
      await server.close();
    }
  });
});
