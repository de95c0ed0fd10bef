import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../lib/config.ts';
import { appFor, TEST_ENV } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';

const APP = 'https://app.example.com';
const ADMIN = 'https://admin.example.com';

const preflight = (origin: string, method = 'POST') => ({
  method: 'OPTIONS',
  headers: {
    origin,
    'access-control-request-method': method,
    'access-control-request-headers': 'authorization, content-type',
  },
});

describe('CORS_ORIGIN', () => {
  it.each(['*', `${APP},*`])('%s is refused by parseConfig, naming CORS_ORIGIN', (value) => {
    let error: unknown;
    try {
      parseConfig({ ...TEST_ENV, CORS_ORIGIN: value });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([{ variable: 'CORS_ORIGIN', message: expect.any(String) }]);
    expect((error as ConfigError).message).toMatch(/CORS_ORIGIN/);
  });
});

describe.each(databaseKinds())('CORS (%s)', (kind) => {
  let database: TestDatabase;
  let harness: ReturnType<typeof appFor>;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
    harness = appFor({ DATABASE_URL: database.url, CORS_ORIGIN: `${APP}, ${ADMIN}` });
  });
  afterAll(async () => {
    await harness?.close();
    await database?.drop();
  });

  it('a preflight from a configured origin is allowed, with credentials', async () => {
    for (const origin of [APP, ADMIN]) {
      const res = await harness.app.request('/api/auth/login', preflight(origin));
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
      expect(res.headers.get('access-control-allow-credentials')).toBe('true');
      expect(res.headers.get('access-control-allow-methods')).toMatch(/\bPOST\b/);
      expect(res.headers.get('access-control-allow-headers')).toMatch(/\bAuthorization\b/);
      expect(res.headers.get('vary')).toMatch(/\bOrigin\b/);
    }
  });

  it('another origin gets no Access-Control-Allow-Origin', async () => {
    const evil = 'https://evil.example.com';
    const pre = await harness.app.request('/api/auth/login', preflight(evil));
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const res = await harness.app.request('/api/health', { headers: { origin: evil } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    // Not even a near miss: scheme and port are part of the origin.
    const http = await harness.app.request('/api/health', { headers: { origin: 'http://app.example.com' } });
    expect(http.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('responses, errors included, are readable by the configured origin', async () => {
    const ok = await harness.app.request('/api/health', { headers: { origin: APP } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP);
    expect(ok.headers.get('access-control-expose-headers')).toMatch(/X-Request-Id/);
    expect(ok.headers.get('vary')).toMatch(/\bOrigin\b/);

    const denied = await harness.app.request('/api/auth/me', { headers: { origin: APP } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe(APP);
    expect(denied.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('a 429 is readable cross-origin, and preflights are not counted against the limit', async () => {
    const limited = appFor({ DATABASE_URL: database.url, CORS_ORIGIN: APP, THROTTLE_LIMIT: '1' });
    try {
      for (let i = 0; i < 3; i++) {
        expect((await limited.app.request('/api/auth/me', preflight(APP, 'GET'))).status).toBe(204);
      }
      const first = await limited.app.request('/api/auth/me', { headers: { origin: APP } });
      expect(first.status).toBe(401);
      expect(first.headers.get('ratelimit-remaining')).toBe('0');
      const refused = await limited.app.request('/api/auth/me', { headers: { origin: APP } });
      expect(refused.status).toBe(429);
      expect(refused.headers.get('access-control-allow-origin')).toBe(APP);
      expect(refused.headers.get('access-control-expose-headers')).toMatch(/Retry-After/);
    } finally {
      await limited.close();
    }
  });

  it('with CORS_ORIGIN unset no CORS headers are sent', async () => {
    const plain = appFor({ DATABASE_URL: database.url });
    try {
      const pre = await plain.app.request('/api/auth/login', preflight(APP));
      const res = await plain.app.request('/api/health', { headers: { origin: APP } });
      for (const r of [pre, res]) {
        const cors = [...r.headers.keys()].filter((name) => name.startsWith('access-control-'));
        expect(cors).toEqual([]);
      }
    } finally {
      await plain.close();
    }
  });
});
