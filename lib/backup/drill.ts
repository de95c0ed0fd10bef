import { sql } from 'kysely';
import pg from 'pg';
import { createDb, createPool, type Db, isPglite, poolOf } from '../db/connection.ts';
import { describeTable, exportLines } from './catalog.ts';
import { tally } from './codec.ts';
import { arraysAsText, type Manifest } from './manifest.ts';
import { openSession } from './session.ts';

/** A throwaway database for a restore drill. */
export type ScratchDatabase = { db: Db; describe: string; drop(): Promise<void> };
/** Makes a scratch database where the server cannot (the embedded PGlite: Node passes one in). */
export type ScratchFactory = (source: Db) => Promise<ScratchDatabase>;

/**
 * Where a drill restores to, in this order: a fresh schema inside BACKUP_DRILL_DATABASE_URL
 * (dropped afterwards); else the factory the caller passes in (the Node entry passes a scratch
 * PGlite when the app runs on the embedded one); else a database created next to the source on
 * the same server (needs CREATEDB).
 */
export async function openScratch(
  source: Db,
  drillDatabaseUrl: string | undefined,
  factory: ScratchFactory | undefined,
): Promise<ScratchDatabase> {
  if (drillDatabaseUrl) return scratchSchema(drillDatabaseUrl, `opsbase_drill_${randomSuffix()}`);
  if (factory) return factory(source);
  if (await isPglite(source)) {
    throw new Error('a restore drill of the embedded PGlite needs BACKUP_DRILL_DATABASE_URL here');
  }
  return scratchDatabaseBeside(source);
}

/** A schema of its own in a database kept for drills: every connection of its pool uses it. */
async function scratchSchema(url: string, schema: string): Promise<ScratchDatabase> {
  const pool = createPool(url, { max: 2 });
  pool.on('connect', (client) => {
    // Queued before anything the pool hands this client out for.
    client.query(`set search_path to ${pg.escapeIdentifier(schema)}`).catch(() => undefined);
  });
  const db = createDb(pool);
  await sql`create schema ${sql.id(schema)}`.execute(db);
  return {
    db,
    describe: `schema ${schema} of BACKUP_DRILL_DATABASE_URL`,
    async drop() {
      try {
        await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
      } finally {
        await db.destroy();
      }
    },
  };
}

const randomSuffix = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, '0')).join('');

/** A database created on the source's server, dropped (with force) afterwards. */
export async function scratchDatabaseBeside(source: Db): Promise<ScratchDatabase> {
  const url = poolOf(source)?.options.connectionString;
  if (!url) throw new Error('cannot tell the source server: set BACKUP_DRILL_DATABASE_URL for restore drills');
  const name = `opsbase_drill_${randomSuffix()}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    // The name is ours (opsbase_drill_ + hex), as test/support/database.ts makes its databases.
    await admin.query(`create database ${pg.escapeIdentifier(name)}`);
  } catch (error) {
    throw new Error(
      `could not create a scratch database for the drill (${(error as Error).message}): grant CREATEDB or set BACKUP_DRILL_DATABASE_URL`,
    );
  } finally {
    await admin.end();
  }
  const scratchUrl = new URL(url);
  scratchUrl.pathname = `/${name}`;
  const db = createDb(createPool(scratchUrl.toString(), { max: 2 }));
  return {
    db,
    describe: `scratch database ${name}`,
    async drop() {
      await db.destroy();
      const dropper = new pg.Client({ connectionString: url });
      await dropper.connect();
      try {
        await dropper.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

/**
 * Per table: the restored rows' count and row hash (sha256 of the same JSON lines a backup
 * writes, in primary-key order), against what the manifest recorded from the source snapshot.
 */
export async function compareWithManifest(restored: Db, manifest: Manifest): Promise<string[]> {
  const session = await openSession(restored);
  const problems: string[] = [];
  let failure: Error | undefined;
  try {
    await session.query(sql`begin isolation level repeatable read read only`);
    for (const table of manifest.tables) {
      // The manifest's columns, in its order, read as the restored table's types say and as the
      // backup's format has them (as a backup does)
      const described = await describeTable(session, table.name, arraysAsText(manifest.format));
      const restored = new Map(described.columns.map((c) => [c.name, c]));
      const counted = exportLines(
        session,
        {
          name: table.name,
          columns: table.columns.map((c) => {
            const asText = c.type === 'json' || c.type === 'jsonb';
            return restored.get(c.name) ?? { ...c, asText, kind: asText ? 'string' : 'json' };
          }),
          primaryKey: table.primaryKey,
        },
        5000,
      );
      const lines = tally(counted.bytes);
      for await (const _ of lines.bytes);
      const rows = counted.rows();
      const { sha256 } = lines.result();
      if (rows !== table.rows) problems.push(`${table.name}: ${rows} rows restored, ${table.rows} in the source`);
      else if (sha256 !== table.rowsSha256) problems.push(`${table.name}: row hash differs from the source snapshot's`);
    }
    await session.query(sql`commit`);
  } catch (error) {
    failure = error as Error;
    throw error;
  } finally {
    await session.release(failure);
  }
  return problems;
}
