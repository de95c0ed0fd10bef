import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedLoadDataset } from '../bench/support/load-dataset.ts';
import { figuresByRoute, loadAccounts, runVirtualUsers } from '../bench/support/virtual-users.ts';
import { hashPassword } from '../lib/auth/password.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { type ServerProcess, startServerProcess } from './support/node-server.ts';
import { waitFor } from './support/processes.ts';

// The short CI form of `npm run bench -- load`: the same virtual users (bench/support/
// virtual-users.ts) on the same generated dataset, small, against the Node server in its own
// process. Contract: every route of the mix answered with its expected status and the shape its
// schema declares, no error and no 5xx, no request left hanging, the server drains and exits
// cleanly. No timing is asserted.

const USERS = 20;
const DURATION_MS = 6_000;
const REQUEST_TIMEOUT_MS = 15_000;
const PASSWORD = 'load-test-password';

/** Every route the mix exercises; each user's first pass goes through all of its role's actions. */
const MIX = [
  'POST /api/auth/login',
  'POST /api/auth/refresh',
  'GET /api/auth/me',
  'GET /api/leads',
  'GET /api/leads/:id',
  'PATCH /api/leads/:id',
  'GET /api/tasks',
  'GET /api/tasks/:id',
  'POST /api/tasks/:id/complete',
  'GET /api/admin/system/logs',
  'GET /api/admin/system/stats',
  'GET /api/admin/system/health',
  'GET /api/admin/system/errors',
];

describe.each(databaseKinds())('mixed load of every role against the server process (%s)', (kind) => {
  let database: TestDatabase;
  let server: ServerProcess;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    await seedLoadDataset(
      database.db,
      { leads: 4_000, tasks: 2_000, logRows: 5_000 },
      { passwordHash: await hashPassword(PASSWORD, { iterations: 1000 }), logDays: 2 },
    );
    server = await startServerProcess({ DATABASE_URL: database.url });
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  it(`${USERS} users for a few seconds: every route answered right, no error, nothing left hanging`, async () => {
    const samples = await runVirtualUsers({
      baseUrl: server.url,
      accounts: loadAccounts(USERS),
      password: PASSWORD,
      durationMs: DURATION_MS,
      thinkMs: 100,
      rampMs: 500,
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
    const figures = figuresByRoute(samples);

    expect(samples.filter((s) => s.problem).map((s) => `${s.route}: ${s.problem}`)).toEqual([]);
    expect(samples.filter((s) => typeof s.status !== 'number' || s.status >= 500)).toEqual([]);
    expect(figures.map((f) => f.route).sort()).toEqual([...MIX].sort());
    for (const f of figures) expect(f.statuses, f.route).toEqual({ 200: f.count });

    // Every request was answered before runVirtualUsers resolved; the request log catches up,
    // and a SIGTERM drains and exits cleanly.
    await waitFor(
      async () => {
        const health = (await (await server.request('/api/health')).json()) as { requestLogs: { backlog: number } };
        return health.requestLogs.backlog === 0;
      },
      30_000,
      'the request log backlog to drain',
    );
    expect(await server.stop()).toBe(0);
    expect(server.output()).not.toMatch(/"level":"error"/);
  }, 90_000);
});
