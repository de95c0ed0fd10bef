import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ENV } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { spawnProject } from './support/processes.ts';
import { startTestS3, type TestS3 } from './support/s3.ts';
import { seedUser } from './support/users.ts';

describe.each(databaseKinds())('npx opsbase backup (%s)', (kind) => {
  let database: TestDatabase;
  let s3: TestS3;
  let env: Record<string, string>;
  let id: string;

  beforeAll(async () => {
    [database, s3] = await Promise.all([createTestDatabase(kind), startTestS3()]);
    await seedUser(database.db, 'admin', { email: 'cli-owner@example.com' });
    env = { ...TEST_ENV, ...s3.env, DATABASE_URL: database.url };
  });
  afterAll(async () => {
    await Promise.all([database?.drop(), s3?.stop()]);
  });

  // Each command is a fresh process loading tsx and the bundle: seconds apiece on a loaded machine,
  // so the tests that spawn it two or three times get a longer budget.
  const SPAWNS = { timeout: 90_000 };
  const cli = async (...args: string[]) => {
    const run = spawnProject(['bin/opsbase.mjs', 'backup', ...args], env);
    const code = await run.exited;
    return { code, output: run.output() };
  };

  it('create prints plain progress lines off a terminal and the backup it made', async () => {
    const made = await cli('create');
    expect(made.code, made.output).toBe(0);
    // Not a TTY here: one line per table, no bar drawing.
    expect(made.output).toMatch(/^users: 1 rows, /m);
    expect(made.output).not.toContain('\x1b[');
    id = /backup (\d{8}T\d{6}Z-[0-9a-f]{6}) complete: \d+ tables, \d+ rows/.exec(made.output)?.[1] ?? '';
    expect(id).not.toBe('');
  });

  it('list shows the backup as complete with its size and tables', SPAWNS, async () => {
    const listed = await cli('list');
    expect(listed.code, listed.output).toBe(0);
    expect(listed.output).toMatch(/ID\s+CREATED \(UTC\)\s+SIZE\s+TABLES\s+ROWS\s+STATE\s+VERIFIED/);
    expect(listed.output).toMatch(new RegExp(`${id}\\s.*\\scomplete\\s`));
  });

  it('verify --drill restores it into a scratch database and says so', { timeout: 120_000 }, async () => {
    const verified = await cli('verify', id, '--drill');
    expect(verified.code, verified.output).toBe(0);
    expect(verified.output).toContain(`backup ${id}: verified with a restore drill`);
    expect((await cli('list')).output).toMatch(new RegExp(`${id}\\s.*ok \\+drill`));
  });

  it('restore refuses the non-empty live database, restores into a new one with --target', SPAWNS, async () => {
    const refused = await cli('restore', id);
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/not empty .*--replace/);
    const target = await createTestDatabase(kind);
    try {
      const restored = await cli('restore', 'latest', '--target', target.url);
      expect(restored.code, restored.output).toBe(0);
      expect(restored.output).toContain(`restored backup ${id}`);
      const users = await sql<{ email: string }>`select email from users`.execute(target.db);
      expect(users.rows.map((u) => u.email)).toEqual(['cli-owner@example.com']);
    } finally {
      await target.drop();
    }
  });

  it('prune --dry-run keeps a fresh backup and deletes nothing; an unknown id is a clear error', SPAWNS, async () => {
    const pruned = await cli('prune', '--dry-run');
    expect(pruned.code, pruned.output).toBe(0);
    expect(pruned.output).toContain(`kept ${id}: within 7 days`);
    expect(pruned.output).toContain('nothing to delete');
    const unknown = await cli('verify', '20200101T000000Z-000000');
    expect(unknown.code).toBe(1);
    expect(unknown.output).toContain('backups/20200101T000000Z-000000/manifest.json: missing');
  });
});
