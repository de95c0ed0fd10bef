import pg from 'pg';
import { onCleanup } from './cleanup.ts';

/** The PostgreSQL the developer machines run (trust auth); benches use it when it answers. */
export const LOCAL_SERVER = 'postgres://postgres@127.0.0.1:5432/postgres';

/** The local server's version, or null when nothing answers there within a second. */
export async function localServerVersion(): Promise<string | null> {
  const client = new pg.Client({ connectionString: LOCAL_SERVER, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ v: string }>(`select current_setting('server_version') as v`);
    return rows[0]?.v ?? '?';
  } catch {
    return null;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Runs one statement on the local server's maintenance database (create/drop database). */
export async function onLocalServer(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: LOCAL_SERVER, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

export type ScratchDatabase = { url: string; name: string; drop(): Promise<void> };

/** A database of its own on the local server, dropped by drop() or, at the latest, by the run's cleanup. */
export async function scratchPostgresDatabase(label: string): Promise<ScratchDatabase> {
  const name = `opsbase_bench_${label}_${process.pid}`;
  await onLocalServer(`drop database if exists ${name} with (force)`);
  await onLocalServer(`create database ${name}`);
  const drop = () => onLocalServer(`drop database if exists ${name} with (force)`);
  const forget = onCleanup(drop);
  return {
    name,
    url: LOCAL_SERVER.replace(/\/postgres$/, `/${name}`),
    async drop() {
      forget();
      await drop();
    },
  };
}
