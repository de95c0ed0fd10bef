import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDb, createPool } from '../lib/db/connection.ts';
import { migrateOrThrow } from '../lib/db/migrate.ts';
import { startEmbeddedPostgres } from '../local/embedded-postgres.ts';
import { isProcessAlive } from '../local/process-alive.ts';
import { CACHE, ROOT, scratchDir } from './support/paths.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
    postgresTemplate: string | null;
  }
}

/** Hash of the migrations, so a changed migration rebuilds the template. */
function migrationsHash(): string {
  const hash = createHash('sha256');
  const dir = join(ROOT, 'migrations');
  for (const file of readdirSync(dir).sort()) hash.update(file).update(readFileSync(join(dir, file)));
  return hash.digest('hex').slice(0, 12);
}

/** A migrated PGlite data dir that each suite copies (reopening takes ~0.2 s, a fresh one 1-6 s). */
async function pgliteTemplate(): Promise<string> {
  const dir = join(CACHE, `pglite-template-${migrationsHash()}`);
  if (existsSync(dir)) return dir;
  const building = scratchDir('pglite-template-build');
  const embedded = await startEmbeddedPostgres({ dataDir: building, port: 0 });
  const db = createDb(createPool(embedded.url, { max: 1 }));
  try {
    await migrateOrThrow(db);
  } finally {
    await db.destroy();
    await embedded.stop();
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(building, dir);
  return dir;
}

/**
 * On a real server: a migrated template database that suites clone with CREATE DATABASE ...
 * TEMPLATE. Names carry this run's pid (opsbase_test_<pid>_...), so two runs on one server never
 * touch each other's databases; what a killed run left behind is dropped once its pid is gone.
 */
async function postgresTemplate(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `opsbase_test_${process.pid}_template`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const existing = await admin.query<{ datname: string }>(
      "select datname from pg_database where datname like 'opsbase_test_%'",
    );
    for (const { datname } of existing.rows) {
      const pid = Number(/^opsbase_test_(\d+)_/.exec(datname)?.[1]);
      if (pid === process.pid || !Number.isInteger(pid) || !isProcessAlive(pid)) {
        await admin.query(`drop database if exists "${datname}" with (force)`);
      }
    }
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = createDb(createPool(url.toString(), { max: 1 }));
  try {
    await migrateOrThrow(db);
  } finally {
    await db.destroy();
  }
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        const mine = await client.query<{ datname: string }>('select datname from pg_database where datname like $1', [
          `opsbase_test_${process.pid}_%`,
        ]);
        for (const { datname } of mine.rows) await client.query(`drop database if exists "${datname}" with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

export default async function setup(project: TestProject) {
  project.provide('pgliteTemplate', await pgliteTemplate());
  const adminUrl = process.env.TEST_DATABASE_URL;
  const template = adminUrl ? await postgresTemplate(adminUrl) : undefined;
  project.provide('postgresTemplate', template?.url ?? null);
  return async () => {
    await template?.drop();
  };
}
