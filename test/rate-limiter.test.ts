import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, createPool } from '../lib/db/connection.ts';
import { RateLimiter } from '../lib/rate-limit.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';

describe.each(databaseKinds())('RateLimiter shared through Postgres (%s)', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await database?.drop();
  });
  const at = Date.UTC(2026, 10, 23, 10, 0, 5); // 5 s into a 60 s window

  it('is exact on one instance: the request past the limit is refused', () => {
    const limiter = new RateLimiter({ limit: 3, windowSeconds: 60 });
    const states = [1, 2, 3, 4].map(() => limiter.hit('user:a', at));
    expect(states.map((s) => s.exceeded)).toEqual([false, false, false, true]);
    expect(states.map((s) => s.remaining)).toEqual([2, 1, 0, 0]);
    expect(states[0]?.resetSeconds).toBe(55);
    expect(limiter.hit('user:b', at).exceeded).toBe(false); // per key
  });

  it('starts over in the next window', () => {
    const limiter = new RateLimiter({ limit: 1, windowSeconds: 60 });
    expect(limiter.hit('ip:1', at).exceeded).toBe(false);
    expect(limiter.hit('ip:1', at).exceeded).toBe(true);
    expect(limiter.hit('ip:1', at + 60_000).exceeded).toBe(false);
  });

  it('two instances see each other’s counts after a sync', async () => {
    const one = new RateLimiter({ limit: 5, windowSeconds: 60 });
    const two = new RateLimiter({ limit: 5, windowSeconds: 60 });
    for (let i = 0; i < 3; i++) one.hit('user:shared', at);
    for (let i = 0; i < 2; i++) two.hit('user:shared', at);
    await one.sync(database.db, at);
    await two.sync(database.db, at);
    // two learned the total (5); its next request is the 6th in the window.
    expect(two.hit('user:shared', at).exceeded).toBe(true);
    const row = await database.db
      .selectFrom('rate_limit_counters')
      .select('count')
      .where('key', '=', 'user:shared')
      .executeTakeFirstOrThrow();
    expect(row.count).toBe(5);
  });

  it('keeps its counts when a sync fails and writes them on the next one', async () => {
    const limiter = new RateLimiter({ limit: 100, windowSeconds: 60 });
    for (let i = 0; i < 4; i++) limiter.hit('user:retry', at);
    const dead = createDb(createPool('postgres://nobody@127.0.0.1:1/none', { max: 1, connectTimeoutMs: 500 }));
    await expect(limiter.sync(dead, at)).rejects.toThrow();
    await dead.destroy();
    expect(limiter.syncDue(at + 2000)).toBe(true);
    await limiter.sync(database.db, at + 2000);
    const row = await database.db
      .selectFrom('rate_limit_counters')
      .select('count')
      .where('key', '=', 'user:retry')
      .executeTakeFirstOrThrow();
    expect(row.count).toBe(4);
    expect(limiter.syncDue(at + 4000)).toBe(false); // nothing left to write
  });
});
