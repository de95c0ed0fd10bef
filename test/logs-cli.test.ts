import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestLogWriter } from '../lib/observability/request-log-writer.ts';
import { TEST_ENV } from './support/app.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { spawnProject } from './support/processes.ts';

describe('opsbase logs tail', () => {
  let database: TestDatabase;
  const write = async (path: string, status: number, createdAt = new Date()) => {
    const writer = new RequestLogWriter();
    writer.add({
      createdAt,
      method: 'GET',
      path,
      route: null,
      status,
      durationMs: 2,
      userId: null,
      ip: '127.0.0.1',
      requestId: path,
      errorCode: status >= 400 ? 'NOT_FOUND' : null,
      errorMessage: status >= 400 ? 'nope' : null,
    });
    await writer.drain(database.db);
  };
  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    for (let i = 0; i < 5; i++) await write(`/api/ok-${i}`, 200, new Date(Date.now() - 60_000 + i));
    await write('/api/missing-1', 404, new Date(Date.now() - 30_000));
  });
  afterAll(async () => {
    await database?.drop();
  });

  const tail = (...args: string[]) =>
    spawnProject(['bin/opsbase.mjs', 'logs', 'tail', ...args], { ...TEST_ENV, DATABASE_URL: database.url });

  it('prints the newest rows oldest first and exits with --no-follow, filtered', async () => {
    const all = tail('--no-follow', '-n', '3');
    expect(await all.exited).toBe(0);
    const lines = all.output().trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.at(-1)).toContain('/api/missing-1');
    const errors = tail('--no-follow', '--status', '4xx');
    expect(await errors.exited).toBe(0);
    expect(errors.output().trim().split('\n')).toEqual([expect.stringContaining('404  GET    /api/missing-1')]);
  });

  it('follows new rows until Ctrl-C', async () => {
    const follow = tail('-n', '1', '--interval', '200');
    await follow.waitForOutput(/missing-1/);
    await write('/api/arrived-later', 201);
    await follow.waitForOutput(/arrived-later/);
    follow.child.kill('SIGINT');
    expect(await follow.exited).toBe(0);
  });

  it('refuses a bad filter with exit 1', async () => {
    const bad = tail('--no-follow', '--status', '6xx');
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toContain('--status');
  });
});
