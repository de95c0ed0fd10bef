import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDb, createPool } from '../lib/db/connection.ts';
import { migrateOrThrow } from '../lib/db/migrate.ts';
import { startEmbeddedPostgres } from '../local/embedded-postgres.ts';
import { CACHE, ROOT, scratchDir } from './support/paths.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
    postgresTemplate: string | null;
  }
}

export const POSTGRES_TEMPLATE_DB = 'opsbase_test_template';

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

/** On a real server: a migrated template database that suites clone with CREATE DATABASE ... TEMPLATE. */
async function postgresTemplate(adminUrl: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const stale = await admin.query<{ datname: string }>(
      "select datname from pg_database where datname like 'opsbase_test_%'",
    );
    for (const { datname } of stale.rows) {
      await admin.query(`drop database if exists "${datname}" with (force)`);
    }
    await admin.query(`create database "${POSTGRES_TEMPLATE_DB}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${POSTGRES_TEMPLATE_DB}`;
  const db = createDb(createPool(url.toString(), { max: 1 }));
  try {
    await migrateOrThrow(db);
  } finally {
    await db.destroy();
  }
  return url.toString();
}

export default async function setup(project: TestProject) {
  project.provide('pgliteTemplate', await pgliteTemplate());
  const adminUrl = process.env.TEST_DATABASE_URL;
  project.provide('postgresTemplate', adminUrl ? await postgresTemplate(adminUrl) : null);
}
