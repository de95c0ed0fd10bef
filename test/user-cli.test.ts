import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appFor, TEST_ENV } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { spawnProject } from './support/processes.ts';
import { postJson } from './support/users.ts';

describe.each(databaseKinds())('opsbase user (%s)', (kind) => {
  let database: TestDatabase;
  let harness: ReturnType<typeof appFor>;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
    harness = appFor({ DATABASE_URL: database.url });
  });
  afterAll(async () => {
    await harness?.close();
    await database?.drop();
  });

  // Not a terminal (stdio is piped), so passwords are generated and printed rather than prompted.
  async function cli(...args: string[]) {
    const run = spawnProject(['bin/opsbase.mjs', 'user', ...args], { ...TEST_ENV, DATABASE_URL: database.url });
    const code = await run.exited;
    return { code, output: run.output() };
  }
  const loginStatus = async (email: string, password: string) =>
    (await postJson(harness.app, '/api/auth/login', { email, password })).status;

  it('create generates and prints a password when not interactive, and the user can log in', async () => {
    const run = await cli('create', '--email', 'Field.Agent@Example.com', '--role', 'agent');
    expect(run.code).toBe(0);
    expect(run.output).toMatch(/Created agent field\.agent@example\.com \(id [0-9a-f-]{36}\)/);
    const password = /Password: (\S+)/.exec(run.output)?.[1];
    expect(password).toBeDefined();
    expect(await loginStatus('field.agent@example.com', password as string)).toBe(200);
  });

  it('create with --password uses it', async () => {
    const run = await cli(
      'create',
      '--email',
      'ops@example.com',
      '--role',
      'operator',
      '--password',
      'typed-password-1',
    );
    expect(run.code).toBe(0);
    expect(run.output).not.toContain('Password:');
    expect(await loginStatus('ops@example.com', 'typed-password-1')).toBe(200);
  });

  it('create refuses a duplicate email, a bad email, a short password and an unknown role with exit 1', async () => {
    const duplicate = await cli('create', '--email', 'ops@example.com', '--role', 'agent');
    expect(duplicate.code).toBe(1);
    expect(duplicate.output).toContain('already exists');
    expect((await cli('create', '--email', 'not-an-email', '--role', 'agent')).code).toBe(1);
    expect((await cli('create', '--email', 'a@example.com', '--role', 'agent', '--password', 'short')).output).toMatch(
      /at least 8 characters/,
    );
    const role = await cli('create', '--email', 'b@example.com', '--role', 'king');
    expect(role.code).toBe(1);
    expect(role.output).toMatch(/Allowed choices are md, admin, manager, agent, operator/);
    // Four CLI processes, each starting tsx and connecting.
  }, 90_000);

  it('list shows every user with role and active state', async () => {
    const run = await cli('list');
    expect(run.code).toBe(0);
    expect(run.output).toMatch(/EMAIL\s+NAME\s+ROLE\s+ACTIVE\s+LAST LOGIN/);
    expect(run.output).toMatch(/ops@example\.com\s+ops\s+operator\s+yes/);
    expect(run.output).toMatch(/field\.agent@example\.com/);
  });

  it('set-password replaces the password and ends the sessions', async () => {
    const session = await postJson(harness.app, '/api/auth/login', {
      email: 'ops@example.com',
      password: 'typed-password-1',
    });
    const run = await cli('set-password', '--email', 'ops@example.com', '--password', 'another-password-2');
    expect(run.code).toBe(0);
    expect(await loginStatus('ops@example.com', 'typed-password-1')).toBe(401);
    expect(await loginStatus('ops@example.com', 'another-password-2')).toBe(200);
    const refresh = await postJson(harness.app, '/api/auth/refresh', { refreshToken: session.body.refreshToken });
    expect(refresh.status).toBe(401);
    expect((await cli('set-password', '--email', 'nobody@example.com', '--password', 'x-password-3')).code).toBe(1);
  });
});
