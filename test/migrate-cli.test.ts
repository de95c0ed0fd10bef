import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../migrations/index.ts';
import { TEST_ENV } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { ROOT, scratchDir } from './support/paths.ts';
import { spawnProject } from './support/processes.ts';

const NAMES = Object.keys(migrations);
const NEWEST = NAMES.at(-1) as string;
const FIRST = NAMES[0] as string;
// Migration 2026_11_23_0002_auth creates `users`; a hand-made one makes it fail after the first.
const SECOND = '2026_11_23_0002_auth';

const literal = (name: string) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const appliedLine = (name: string) => new RegExp(`^\\[x\\] ${literal(name)}  applied \\d{4}-`, 'm');
const pendingLine = (name: string) => new RegExp(`^\\[ \\] ${literal(name)}  pending$`, 'm');

describe.each(databaseKinds())('opsbase migrate (%s)', (kind) => {
  let database: TestDatabase;
  // The CLI loads ./.env: run it from an empty directory so a developer's .env cannot interfere.
  const cwd = scratchDir('migrate-cli');
  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await database?.drop();
    rmSync(cwd, { recursive: true, force: true });
  });

  const env = () => ({ ...TEST_ENV, DATABASE_URL: database.url });
  const opsbase = (...args: string[]) =>
    spawnProject([join(ROOT, 'bin/opsbase.mjs'), ...args], env(), { cwd, isolatedEnv: true }).finished;
  // npm runs package.json scripts from the project root whatever the cwd; DATABASE_URL from the
  // environment wins over any ./.env there.
  const npmRun = (script: string) =>
    spawnProject(['run', '--silent', script], env(), { command: 'npm', isolatedEnv: true }).finished;

  const recorded = async () =>
    (await sql<{ name: string }>`select name from opsbase_migrations order by name`.execute(database.db)).rows.map(
      (r) => r.name,
    );
  const tableExists = async (table: string) =>
    (await sql<{ found: string | null }>`select to_regclass(${table})::text as found`.execute(database.db)).rows[0]
      ?.found !== null;

  it('status lists every migration as applied on a migrated database', async () => {
    const status = await opsbase('migrate', 'status');
    expect(status.code).toBe(0);
    for (const name of NAMES) expect(status.stdout).toMatch(appliedLine(name));
    expect(status.stdout).toContain(`${NAMES.length} applied, 0 pending`);
  });

  it('down rolls back the newest migration, and status shows it pending', async () => {
    const down = await opsbase('migrate', 'down');
    expect(down.code).toBe(0);
    expect(down.stdout.trim()).toBe(`ok   down ${NEWEST}`);
    expect(await recorded()).toEqual(NAMES.slice(0, -1));

    const status = await opsbase('migrate', 'status');
    expect(status.stdout).toMatch(pendingLine(NEWEST));
    for (const name of NAMES.slice(0, -1)) expect(status.stdout).toMatch(appliedLine(name));
    expect(status.stdout).toContain(`${NAMES.length - 1} applied, 1 pending`);
  });

  it('latest applies the pending migration again, and a second latest has nothing to do', async () => {
    const latest = await opsbase('migrate', 'latest');
    expect(latest.code).toBe(0);
    expect(latest.stdout.trim()).toBe(`ok   up ${NEWEST}`);
    expect(await recorded()).toEqual(NAMES);

    const again = await opsbase('migrate', 'latest');
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe('Already up to date.');
  });

  it(
    'down rolls back one migration per run, newest first, until nothing is left',
    async () => {
      for (const name of [...NAMES].reverse()) {
        const down = await opsbase('migrate', 'down');
        expect(down.code, down.stderr).toBe(0);
        expect(down.stdout.trim()).toBe(`ok   down ${name}`);
      }
      expect(await recorded()).toEqual([]);
      expect(await tableExists('app_settings')).toBe(false);

      const nothing = await opsbase('migrate', 'down');
      expect(nothing.code).toBe(0);
      expect(nothing.stdout.trim()).toBe('Nothing to roll back.');
      expect((await opsbase('migrate', 'status')).stdout).toContain(`0 applied, ${NAMES.length} pending`);
      // One CLI process per migration (each starts tsx and connects): the budget grows with the list.
    },
    10_000 * (NAMES.length + 2),
  );

  it('latest exits 1 and names the failing migration on stderr when its table already exists', async () => {
    await sql`create table app_settings (key text primary key)`.execute(database.db);
    const latest = await opsbase('migrate', 'latest');
    expect(latest.code).toBe(1);
    expect(latest.stderr).toMatch(new RegExp(`migration ${literal(FIRST)} failed: .*already exists`));
    expect(latest.stdout).toContain(`FAIL up ${FIRST}`);
    expect(await recorded()).toEqual([]);
    await sql`drop table app_settings`.execute(database.db);
  });

  it('a failed run reports the migrations before the failure as rolled back, not applied', async () => {
    await sql`create table users (id integer)`.execute(database.db);
    const latest = await opsbase('migrate', 'latest');
    expect(latest.code).toBe(1);
    expect(latest.stderr).toContain(`migration ${SECOND} failed`);
    // One transaction: the first migration was undone with the failure, so it must not read "ok".
    expect(latest.stdout).not.toContain(`ok   up ${FIRST}`);
    expect(latest.stdout).toContain(`undo up ${FIRST}  (rolled back: the run failed)`);
    expect(latest.stdout).toContain(`FAIL up ${SECOND}`);
    expect(await recorded()).toEqual([]);
    expect(await tableExists('app_settings')).toBe(false);
  });

  it('npm run migration:run fails the same way, exit 1 with the migration named on stderr', async () => {
    const failed = await npmRun('migration:run');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`migration ${SECOND} failed`);
    await sql`drop table users`.execute(database.db);
  });

  it('npm run migration:run applies every migration and npm run migration:show lists them applied', async () => {
    const applied = await npmRun('migration:run');
    expect(applied.code, applied.stderr).toBe(0);
    for (const name of NAMES) expect(applied.stdout).toContain(`ok   up ${name}`);
    expect(await recorded()).toEqual(NAMES);

    const show = await npmRun('migration:show');
    expect(show.code).toBe(0);
    for (const name of NAMES) expect(show.stdout).toMatch(appliedLine(name));
    expect(show.stdout).toContain(`${NAMES.length} applied, 0 pending`);
  });
});
