import { randomBytes } from 'node:crypto';
import { cpSync, rmSync } from 'node:fs';

import pg from 'pg';
import { inject } from 'vitest';
import { createDb, createPool, type Db } from '../../lib/db/connection.ts';
import { startEmbeddedPostgres } from '../../local/embedded-postgres.ts';
import { scratchDir } from './paths.ts';

export type DatabaseKind = 'pglite' | 'postgres';

export type TestDatabase = {
  kind: DatabaseKind;
  /** Connection URL the app under test uses. */
  url: string;
  /** A Kysely instance on it for arranging and asserting. */
  db: Db;
  /** Host port of the server (for putting a proxy in front of it). */
  port: number;
  drop(): Promise<void>;
};

/** The kinds every database-backed suite runs on: PGlite always, real PostgreSQL when TEST_DATABASE_URL is set. */
export function databaseKinds(): DatabaseKind[] {
  return inject('postgresTemplate') ? ['pglite', 'postgres'] : ['pglite'];
}

/** A fresh, migrated database for one suite. */
export async function createTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  return kind === 'pglite' ? freshPglite() : freshPostgres();
}

async function freshPglite(): Promise<TestDatabase> {
  const dir = scratchDir('pglite');
  cpSync(inject('pgliteTemplate'), dir, { recursive: true });
  const embedded = await startEmbeddedPostgres({ dataDir: dir, port: 0 });
  const db = createDb(createPool(embedded.url, { max: 4 }));
  return {
    kind: 'pglite',
    url: embedded.url,
    db,
    port: embedded.port,
    async drop() {
      await db.destroy();
      await embedded.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function freshPostgres(): Promise<TestDatabase> {
  const template = inject('postgresTemplate');
  if (!template) throw new Error('TEST_DATABASE_URL is not set');
  // The run's pid is in the template's name (opsbase_test_<pid>_template); suites share it.
  const name = new URL(template).pathname.slice(1).replace(/_template$/, `_${randomBytes(5).toString('hex')}`);
  const adminUrl = new URL(template);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  try {
    await admin.query(`create database "${name}" template "${new URL(template).pathname.slice(1)}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(template);
  url.pathname = `/${name}`;
  const db = createDb(createPool(url.toString(), { max: 4 }));
  return {
    kind: 'postgres',
    url: url.toString(),
    db,
    port: Number(url.port || 5432),
    async drop() {
      await db.destroy();
      const dropper = new pg.Client({ connectionString: adminUrl.toString() });
      await dropper.connect();
      try {
        await dropper.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

/** The same URL with another host port (to route it through a proxy). */
export function withPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  u.hostname = '127.0.0.1';
  return u.toString();
}
