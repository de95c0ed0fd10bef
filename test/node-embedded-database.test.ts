import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { childProcesses } from '../bench/support/backend-cpu.ts';
import { TEST_ENV } from './support/app.ts';
import { scratchDir } from './support/paths.ts';
import { freePort, type Spawned, spawnProject, waitFor } from './support/processes.ts';

// `npm start` with no DATABASE_URL: the embedded PGlite in DATA_DIR, run in a child process so its
// statements never hold the server's event loop, and started again if it dies.
describe('the Node server on its embedded Postgres', () => {
  const dataDir = scratchDir('node-embedded');
  let server: Spawned;
  let port: number;
  let pgPort: number;

  const health = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/health`);
    return { status: res.status, body: (await res.json()) as { info: { database: { status: string } } } };
  };
  const query = async (sql: string) => {
    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${pgPort}/postgres` });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  };
  const embeddedChild = () => {
    const children = childProcesses(server.child.pid as number).filter((c) => c.command.includes('service-main.ts'));
    return children.length === 1 ? children[0] : undefined;
  };

  afterAll(() => {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
  });

  it('starts PGlite in a child process of its own and records its URL in the data dir lock', async () => {
    port = await freePort();
    pgPort = await freePort();
    server = spawnProject(['--import', 'tsx', 'functions/node.ts'], {
      ...TEST_ENV,
      DATABASE_URL: '',
      DATABASE_HOST: '',
      DATA_DIR: dataDir,
      LOCAL_PG_PORT: String(pgPort),
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    });
    await server.waitForOutput(/"msg":"listening"/);
    expect((await health()).status).toBe(200);
    expect(embeddedChild()?.command).toContain(JSON.stringify(join(dataDir, 'pg')).slice(1, -1));
    const lock = JSON.parse(readFileSync(join(dataDir, 'opsbase.lock'), 'utf8'));
    expect(lock).toMatchObject({
      pid: server.child.pid,
      databaseUrl: `postgres://postgres:postgres@127.0.0.1:${pgPort}/postgres`,
    });
    await query(`insert into app_settings (key, value) values ('test.marker', '"kept"')`);
  }, 120_000);

  it('lets the CLI use that database while the server runs (the data dir is locked to the server)', async () => {
    const cli = spawnProject(['bin/opsbase.mjs', 'migrate', 'status'], {
      ...TEST_ENV,
      DATABASE_URL: '',
      DATABASE_HOST: '',
      DATA_DIR: dataDir,
    });
    const { code, stdout, stderr } = await cli.finished;
    expect(stderr).not.toMatch(/in use by process/);
    expect(code).toBe(0);
    expect(stdout).toMatch(/\d+ applied, 0 pending/);
  }, 60_000);

  it('when the database process dies, reports it, starts it again on the same port, and serves on', async () => {
    const first = embeddedChild();
    expect(first).toBeDefined();
    process.kill(first?.pid as number, 'SIGKILL');
    await server.waitForOutput(/embedded postgres exited unexpectedly: restarting it.*"signal":"SIGKILL"/);
    await server.waitForOutput(/embedded postgres restarted/);
    const second = embeddedChild();
    expect(second?.pid).not.toBe(first?.pid);
    // The server's pools reconnect on their own: health is 200 again, with the data kept.
    const back = await waitFor(
      async () => {
        const h = await health();
        return h.status === 200 ? h : undefined;
      },
      30_000,
      'health 200 after the restart',
    );
    expect(back.body.info.database.status).toBe('up');
    expect(await query(`select value from app_settings where key = 'test.marker'`)).toEqual([{ value: 'kept' }]);
    expect((await fetch(`http://127.0.0.1:${port}/api/nowhere`)).status).toBe(404);
  }, 60_000);

  it('stops its database with it on SIGTERM and releases the lock', async () => {
    const child = embeddedChild();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(childProcesses(server.child.pid as number)).toEqual([]);
    expect(existsSync(`/proc/${child?.pid}`)).toBe(false);
    expect(existsSync(join(dataDir, 'opsbase.lock'))).toBe(false);
  }, 60_000);
});
