import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { startTestServer, type TestServer } from './support/node-server.ts';
import { seedUser } from './support/users.ts';

// Every test uses addresses of its own, so the counts of one never reach another.
let lastAddress = 0;
const nextAddress = () => `198.51.100.${++lastAddress}`;

function expectThrottled(res: Awaited<ReturnType<TestServer['login']>>) {
  expect(res.status).toBe(429);
  expect(res.body).toEqual({
    error: { code: 'RATE_LIMITED', message: expect.any(String), requestId: res.headers.get('x-request-id') },
  });
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(15 * 60); // LOGIN_WINDOW's default
}

describe.each(databaseKinds())('login throttling through real servers (%s)', (kind) => {
  let database: TestDatabase;
  /** Two instances of the app on one database, behind a proxy on 127.0.0.1. */
  let one: TestServer;
  let two: TestServer;
  const started: TestServer[] = [];
  const serve = async (env: Record<string, string> = {}) => {
    const server = await startTestServer({ DATABASE_URL: database.url, TRUSTED_PROXIES: '127.0.0.1', ...env });
    started.push(server);
    return server;
  };

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    [one, two] = await Promise.all([serve(), serve()]);
  });
  afterAll(async () => {
    await Promise.all(started.map((server) => server.close()));
    await database?.drop();
  });

  const failuresOf = async (key: string) =>
    (await database.db.selectFrom('login_throttles').select('failures').where('key', '=', key).executeTakeFirst())
      ?.failures;

  it('five wrong passwords get 401; the sixth attempt, even with the right password, gets 429 with Retry-After', async () => {
    const user = await seedUser(database.db, 'agent');
    const address = nextAddress();
    for (let i = 0; i < 5; i++) {
      const res = await one.login(address, user.email, 'wrong-password');
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
    }
    expectThrottled(await one.login(address, user.email, user.password));
    expectThrottled(await one.login(address, user.email.toUpperCase(), user.password)); // same account
  });

  it('the right password from another address still logs in', async () => {
    const user = await seedUser(database.db, 'agent');
    const attacker = nextAddress();
    for (let i = 0; i < 5; i++) await one.login(attacker, user.email, 'wrong-password');
    expectThrottled(await one.login(attacker, user.email, user.password));

    const owner = await one.login(nextAddress(), user.email, user.password);
    expect(owner.status).toBe(200);
    expect(owner.body.user.id).toBe(user.id);
  });

  it('a successful login clears the count of its address and email', async () => {
    const user = await seedUser(database.db, 'agent');
    const address = nextAddress();
    for (let i = 0; i < 4; i++) expect((await one.login(address, user.email, 'wrong-password')).status).toBe(401);
    expect((await one.login(address, user.email, user.password)).status).toBe(200);
    expect(await failuresOf(`ip-email:${address}:${user.email}`)).toBeUndefined();

    // Five fresh failures are allowed again before the next attempt is refused.
    for (let i = 0; i < 5; i++) expect((await one.login(address, user.email, 'wrong-password')).status).toBe(401);
    expectThrottled(await one.login(address, user.email, user.password));
  });

  it('two instances share the count: 3 failures on one and 2 on the other, then both refuse', async () => {
    const user = await seedUser(database.db, 'agent');
    const address = nextAddress();
    for (let i = 0; i < 3; i++) expect((await one.login(address, user.email, 'wrong-password')).status).toBe(401);
    for (let i = 0; i < 2; i++) expect((await two.login(address, user.email, 'wrong-password')).status).toBe(401);
    expectThrottled(await one.login(address, user.email, user.password));
    expectThrottled(await two.login(address, user.email, user.password));
  });

  it('concurrent wrong passwords cannot get past the limit', async () => {
    const user = await seedUser(database.db, 'agent');
    const address = nextAddress();
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).login(address, user.email, `wrong-${i}`)),
    );
    const statuses = burst.map((res) => res.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    expect(await failuresOf(`ip-email:${address}:${user.email}`)).toBe(5);
  });

  it('once the window has passed the address may try again, and failures count from one', async () => {
    const user = await seedUser(database.db, 'agent');
    const address = nextAddress();
    for (let i = 0; i < 5; i++) await one.login(address, user.email, 'wrong-password');
    expectThrottled(await one.login(address, user.email, user.password));

    // Move the window into the past instead of waiting for it (LOGIN_WINDOW is 15 min).
    await database.db
      .updateTable('login_throttles')
      .set({ window_started_at: sql`now() - interval '16 minutes'` })
      .where('key', 'in', [`ip:${address}`, `ip-email:${address}:${user.email}`])
      .execute();
    expect((await one.login(address, user.email, 'wrong-password')).status).toBe(401);
    expect(await failuresOf(`ip-email:${address}:${user.email}`)).toBe(1);
    expect(await failuresOf(`ip:${address}`)).toBe(1);
    expect((await one.login(address, user.email, user.password)).status).toBe(200);
  });

  it('the per-address limit blocks an address across emails', async () => {
    const strict = await serve({ LOGIN_MAX_FAILURES_PER_IP: '3' });
    const [a, b, victim] = await Promise.all([
      seedUser(database.db, 'agent'),
      seedUser(database.db, 'agent'),
      seedUser(database.db, 'agent'),
    ]);
    const address = nextAddress();
    expect((await strict.login(address, a.email, 'wrong-password')).status).toBe(401);
    expect((await strict.login(address, b.email, 'wrong-password')).status).toBe(401);
    expect((await strict.login(address, 'nobody@example.test', 'wrong-password')).status).toBe(401);
    expectThrottled(await strict.login(address, victim.email, victim.password));
    // Only that address: the user logs in from elsewhere.
    expect((await strict.login(nextAddress(), victim.email, victim.password)).status).toBe(200);
  });

  it('addresses a client prepends to X-Forwarded-For do not spread its failures', async () => {
    const user = await seedUser(database.db, 'agent');
    const address = nextAddress();
    // The proxy appends the address it saw; what the client sent before it is not believed.
    for (let i = 0; i < 5; i++) {
      expect((await one.login(`203.0.113.${i}, ${address}`, user.email, 'wrong-password')).status).toBe(401);
    }
    expectThrottled(await one.login(`203.0.113.99, ${address}`, user.email, user.password));
    expect(await failuresOf(`ip-email:${address}:${user.email}`)).toBe(5);
  });

  it('X-Forwarded-For from a peer that is not a trusted proxy is ignored', async () => {
    const direct = await serve({ TRUSTED_PROXIES: '10.9.9.9' });
    const user = await seedUser(database.db, 'agent');
    for (let i = 1; i <= 5; i++) {
      expect((await direct.login(`192.0.2.${i}`, user.email, 'wrong-password')).status).toBe(401);
    }
    // Every spoofed address counted against the real peer, 127.0.0.1.
    expectThrottled(await direct.login('192.0.2.6', user.email, user.password));
    expect(await failuresOf(`ip-email:127.0.0.1:${user.email}`)).toBe(5);
    const spoofed = await database.db
      .selectFrom('login_throttles')
      .select('key')
      .where('key', 'like', '%192.0.2.%')
      .execute();
    expect(spoofed).toEqual([]);
  });
});
