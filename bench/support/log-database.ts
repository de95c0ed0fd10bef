import { join } from 'node:path';
import { createDb, createPool, type Db } from '../../lib/db/connection.ts';
import { migrateOrThrow } from '../../lib/db/migrate.ts';
import { startEmbeddedPostgres } from '../../local/embedded-postgres.ts';
import { LOCAL_SERVER, localServerVersion, onLocalServer } from './local-postgres.ts';
import { ROOT } from './paths.ts';

/** Where seed-logs writes and observability reads, chosen the same way by both benches. */
export type LogBenchDatabase = {
  kind: 'postgres' | 'pglite';
  /** What the figures were measured on, for the printed tables. */
  label: string;
  /** Environment for the bundle under test: DATABASE_URL, or DATA_DIR for PGlite. */
  serverEnv: Record<string, string>;
  /** A connection for seeding and checks; stop it before the bundle opens a PGlite data dir. */
  open(): Promise<{ db: Db; close(): Promise<void> }>;
};

export const LOCAL_BENCH_DATABASE = 'opsbase_bench_logs';
/** Kept between runs (not a pid-named scratch dir) so observability reuses what seed-logs wrote. */
export const PGLITE_BENCH_DIR = join(ROOT, '.cache', 'bench-logs-pglite');

/**
 * BENCH_DATABASE_URL when set; else a database of its own (opsbase_bench_logs, kept) on the
 * PostgreSQL at 127.0.0.1:5432 when one answers; else (or with BENCH_LOG_DATABASE=pglite) PGlite
 * in .cache/bench-logs-pglite.
 */
export async function logBenchDatabase(): Promise<LogBenchDatabase> {
  const fromEnv = process.env.BENCH_DATABASE_URL?.trim();
  const pgliteAsked = process.env.BENCH_LOG_DATABASE?.trim() === 'pglite';
  const local = fromEnv || pgliteAsked ? null : await localServerVersion();
  if (local) {
    await onLocalServer(`create database ${LOCAL_BENCH_DATABASE}`).catch((error: { code?: string }) => {
      if (error.code !== '42P04') throw error; // already there: reused
    });
  }
  if (fromEnv || local) {
    const url = fromEnv || LOCAL_SERVER.replace(/\/postgres$/, `/${LOCAL_BENCH_DATABASE}`);
    const name = new URL(url).pathname.slice(1);
    return {
      kind: 'postgres',
      label: fromEnv
        ? `PostgreSQL (BENCH_DATABASE_URL, database ${name})`
        : `PostgreSQL ${local} on 127.0.0.1:5432, database ${name}`,
      serverEnv: { DATABASE_URL: url },
      async open() {
        const db = createDb(createPool(url, { max: 2 }));
        await migrateOrThrow(db);
        return { db, close: () => db.destroy() };
      },
    };
  }
  return {
    kind: 'pglite',
    label: `PGlite in ${PGLITE_BENCH_DIR}`,
    serverEnv: { DATA_DIR: PGLITE_BENCH_DIR },
    async open() {
      // The bundle opens DATA_DIR/pg itself; the bench opens it only while the bundle is not running.
      const embedded = await startEmbeddedPostgres({ dataDir: join(PGLITE_BENCH_DIR, 'pg'), port: 0 });
      const db = createDb(createPool(embedded.url, { max: 1 }));
      try {
        await migrateOrThrow(db);
      } catch (error) {
        await db.destroy();
        await embedded.stop();
        throw error;
      }
      return {
        db,
        async close() {
          await db.destroy();
          await embedded.stop();
        },
      };
    },
  };
}
