import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKinds, type TestDatabase, withPort } from './support/database.ts';
import { startTestServer, type TestServer } from './support/node-server.ts';
import { waitFor } from './support/processes.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';
import { seedUser } from './support/users.ts';

const LIMIT = 3;
const WINDOW_SECONDS = 60;

// Every test uses addresses of its own, so the counts of one never reach another.
let lastAddress = 0;
const nextAddress = () => `198.51.100.${++lastAddress}`;

/**
 * Windows are fixed (they start on multiples of THROTTLE_TTL): a test's few requests must not
 * straddle two of them, so wait out the last seconds of a window instead of racing its end.
 */
const withinOneWindow = () =>
  waitFor(
    async () => WINDOW_SECONDS * 1000 - (Date.now() % (WINDOW_SECONDS * 1000)) > 5000,
    10_000,
    'a rate-limit window with time left',
  );

async function expectRateLimited(res: Response) {
  expect(res.status).toBe(429);
  expect(await res.json()).toEqual({
    error: { code: 'RATE_LIMITED', message: expect.any(String), requestId: res.headers.get('x-request-id') },
  });
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
  expect(res.headers.get('ratelimit-remaining')).toBe('0');
}

describe.each(databaseKinds())('API rate limit through a real server (%s)', (kind) => {
  let database: TestDatabase;
  let limited: TestServer;
  const started: TestServer[] = [];
  const serve = async (env: Record<string, string> = {}) => {
    const server = await startTestServer({
      DATABASE_URL: database.url,
      TRUSTED_PROXIES: '127.0.0.1',
      THROTTLE_LIMIT: String(LIMIT),
      THROTTLE_TTL: String(WINDOW_SECONDS),
      ...env,
    });
    started.push(server);
    return server;
  };

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    limited = await serve();
  });
  afterAll(async () => {
    await Promise.all(started.map((server) => server.close()));
    await database?.drop();
  });

  const me = (server: TestServer, from: string, token?: string) =>
    server.request('/api/auth/me', { from, headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('an authenticated user gets RateLimit headers; the 4th request in the window is 429 with Retry-After', async () => {
    const token = await limited.tokenFor(await seedUser(database.db, 'agent'));
    const address = nextAddress();
    await withinOneWindow();
    for (const remaining of [2, 1, 0]) {
      const res = await me(limited, address, token);
      expect(res.status).toBe(200);
      const reset = Number(res.headers.get('ratelimit-reset'));
      expect(reset).toBeGreaterThan(0);
      expect(reset).toBeLessThanOrEqual(WINDOW_SECONDS);
      expect(res.headers.get('ratelimit-limit')).toBe(String(LIMIT));
      expect(res.headers.get('ratelimit-remaining')).toBe(String(remaining));
      expect(res.headers.get('ratelimit')).toBe(`limit=${LIMIT}, remaining=${remaining}, reset=${reset}`);
      expect(res.headers.get('ratelimit-policy')).toBe(`${LIMIT};w=${WINDOW_SECONDS}`);
    }
    await expectRateLimited(await me(limited, address, token));
  });

  it('counts per user: another user is unaffected, and a new address does not reset a user', async () => {
    const [first, second] = await Promise.all([seedUser(database.db, 'agent'), seedUser(database.db, 'agent')]);
    const [firstToken, secondToken] = await Promise.all([limited.tokenFor(first), limited.tokenFor(second)]);
    const address = nextAddress();
    await withinOneWindow();
    for (let i = 0; i < LIMIT; i++) expect((await me(limited, address, firstToken)).status).toBe(200);
    await expectRateLimited(await me(limited, address, firstToken));

    const other = await me(limited, address, secondToken);
    expect(other.status).toBe(200);
    expect(other.headers.get('ratelimit-remaining')).toBe(String(LIMIT - 1));
    await expectRateLimited(await me(limited, nextAddress(), firstToken));
  });

  it('counts anonymous requests per client address', async () => {
    const address = nextAddress();
    await withinOneWindow();
    for (const remaining of [2, 1, 0]) {
      const res = await me(limited, address);
      expect(res.status).toBe(401);
      expect(res.headers.get('ratelimit-remaining')).toBe(String(remaining));
    }
    await expectRateLimited(await me(limited, address));
    const elsewhere = await me(limited, nextAddress());
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.headers.get('ratelimit-remaining')).toBe(String(LIMIT - 1));
  });

  it('a forged token is counted against its address, not against the user it names', async () => {
    const victim = await seedUser(database.db, 'agent');
    const forged = await new SignJWT({ role: 'agent' })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setSubject(victim.id)
      .setIssuer('opsbase')
      .setAudience('opsbase-api')
      .setIssuedAt()
      .setExpirationTime('15m')
      .sign(new TextEncoder().encode('not-the-server-secret-not-the-server-secret'));
    const address = nextAddress();
    await withinOneWindow();
    for (let i = 0; i < LIMIT; i++) expect((await me(limited, address, forged)).status).toBe(401);
    await expectRateLimited(await me(limited, address, forged));

    const real = await me(limited, nextAddress(), await limited.tokenFor(victim));
    expect(real.status).toBe(200);
    expect(real.headers.get('ratelimit-remaining')).toBe(String(LIMIT - 1));
  });

  it('/api/health and /api/docs are exempt: never counted, no RateLimit headers', async () => {
    const address = nextAddress();
    await withinOneWindow();
    for (const path of ['/api/health', '/api/docs', '/api/docs/assets/swagger-ui.css', '/api/openapi.json']) {
      for (let i = 0; i <= LIMIT; i++) {
        const res = await limited.request(path, { from: address });
        expect(res.status, path).toBe(200);
        expect(res.headers.get('ratelimit'), path).toBeNull();
        expect(res.headers.get('ratelimit-remaining'), path).toBeNull();
        await res.arrayBuffer();
      }
    }
    // The address still has its whole allowance.
    expect((await me(limited, address)).headers.get('ratelimit-remaining')).toBe(String(LIMIT - 1));
  });

  it('THROTTLE_LIMIT=0 turns the limit off: no RateLimit headers and no 429', async () => {
    const unlimited = await serve({ THROTTLE_LIMIT: '0' });
    const address = nextAddress();
    for (let i = 0; i < LIMIT * 3; i++) {
      const res = await me(unlimited, address);
      expect(res.status).toBe(401);
      expect(res.headers.get('ratelimit')).toBeNull();
      expect(res.headers.get('ratelimit-policy')).toBeNull();
      expect(res.headers.get('ratelimit-remaining')).toBeNull();
      expect(res.headers.get('retry-after')).toBeNull();
    }
  });

  describe('with the database unreachable', () => {
    let proxy: TcpProxy;
    let offline: TestServer;
    beforeAll(async () => {
      proxy = await startTcpProxy(database.port);
      offline = await serve({ DATABASE_URL: withPort(database.url, proxy.port), HEALTH_TIMEOUT_MS: '1000' });
    });
    afterAll(async () => {
      await offline?.close();
      await proxy?.close();
    });

    it('the limiter fails open: health answers 503 for the database, other routes answer as usual', async () => {
      const user = await seedUser(database.db, 'agent');
      const token = await offline.tokenFor(user);
      expect((await offline.request('/api/health')).status).toBe(200);
      proxy.setMode('refuse');

      const health = await offline.request('/api/health');
      expect(health.status).toBe(503);
      expect((await health.json()).error.database.status).toBe('down');

      const address = nextAddress();
      await withinOneWindow();
      const anonymous = await me(offline, address);
      expect(anonymous.status).toBe(401); // no database needed to refuse it; the limiter's sync failed in the background
      expect(anonymous.headers.get('ratelimit-remaining')).toBe(String(LIMIT - 1));
      await waitFor(
        async () => offline.logs.some((entry) => entry.msg === 'rate limit sync failed; will retry'),
        10_000,
        'a failed rate-limit sync to be logged',
      );
      // Needs the user's row: the dependency's 503, not a 500 from the limiter.
      const authenticated = await me(offline, address, token);
      expect(authenticated.status).toBe(503);
      expect((await authenticated.json()).error.code).toBe('SERVICE_UNAVAILABLE');
      // Still counted in memory meanwhile.
      for (let i = 1; i < LIMIT; i++) expect((await me(offline, address)).status).toBe(401);
      await expectRateLimited(await me(offline, address));
    });
  });
});
