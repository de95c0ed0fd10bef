import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type pg from 'pg';
import { isPgliteVersion, poolOf } from '../db/connection.ts';
import { detectRuntime } from '../runtime.ts';
import type { Bytes } from './codec.ts';

/**
 * One connection held for a whole backup or restore (a snapshot transaction must stay on one
 * connection). SQL is written with Kysely's `sql` tag and compiled here; COPY statements take no
 * parameters, so their SQL must compile without any.
 */
export type Session = {
  /** COPY ... TO STDOUT / FROM STDIN can be used: Node against a real PostgreSQL server. */
  readonly copy: boolean;
  /** The server's version() string. */
  readonly server: string;
  query<R>(query: RawBuilder<R>): Promise<R[]>;
  /** JSON lines from a query selecting one text column `line`, read through a cursor in batches. */
  cursorLines(query: RawBuilder<{ line: string }>, batchRows: number): Bytes;
  copyOut(query: RawBuilder<unknown>): Bytes;
  /** COPY ... FROM STDIN fed from `source`; resolves with the rows the server says it copied. */
  copyIn(query: RawBuilder<unknown>, source: Bytes): Promise<number>;
  release(error?: Error): Promise<void>;
};

// biome-ignore lint/suspicious/noExplicitAny: compiles SQL for any schema (restore targets, scratch databases)
type AnyDb = Kysely<any>;

/**
 * A text format the exported JSON lines pass through unchanged: CSV with a quote and a delimiter
 * that JSON from the server never contains (it escapes every control character), so each line is
 * one field, copied verbatim, with no escaping of backslashes.
 */
export const COPY_LINES = sql`(format csv, quote e'\\x01', delimiter e'\\x02')`;

/** Session settings that make the server's text output of every type the same on every run. */
const STABLE_OUTPUT = [
  sql`set timezone = 'UTC'`,
  sql`set datestyle = 'ISO, MDY'`,
  sql`set intervalstyle = 'postgres'`,
  sql`set extra_float_digits = 1`,
  sql`set bytea_output = 'hex'`,
];
/** Undoes STABLE_OUTPUT only (not RESET ALL: a drill's pool sets its own search_path). */
const RESET_OUTPUT = [
  sql`reset timezone`,
  sql`reset datestyle`,
  sql`reset intervalstyle`,
  sql`reset extra_float_digits`,
  sql`reset bytea_output`,
];

export async function openSession(db: AnyDb): Promise<Session> {
  const pool = poolOf(db);
  if (!pool) throw new Error('backups need a database created by createDb (a pg pool behind it)');
  const client = await pool.connect();
  try {
    const session = clientSession(db, client, await versionOf(client, db));
    for (const setting of STABLE_OUTPUT) await session.query(setting);
    return session;
  } catch (error) {
    client.release(error as Error);
    throw error;
  }
}

async function versionOf(client: pg.PoolClient, db: AnyDb): Promise<string> {
  const compiled = sql<{ version: string }>`select version() as version`.compile(db);
  const result = await client.query<{ version: string }>(compiled.sql, [...compiled.parameters]);
  return result.rows[0]?.version ?? 'unknown';
}

/** PGlite speaks the wire protocol but not COPY over it; Workers' sockets lack what pg-copy-streams needs. */
function copySupported(server: string): boolean {
  return detectRuntime() === 'node' && !isPgliteVersion(server);
}

function clientSession(db: AnyDb, client: pg.PoolClient, server: string): Session {
  const compile = (query: RawBuilder<unknown>, allowParameters = true) => {
    const compiled = query.compile(db);
    if (!allowParameters && compiled.parameters.length > 0) {
      throw new Error('COPY statements take no parameters: build them from identifiers and literals');
    }
    return compiled;
  };
  const run = async <R>(query: RawBuilder<R>): Promise<R[]> => {
    const compiled = compile(query);
    const result = await client.query(compiled.sql, [...compiled.parameters]);
    return result.rows as R[];
  };
  return {
    copy: copySupported(server),
    server,
    query: run,
    async *cursorLines(query, batchRows) {
      const cursor = sql.id(`opsbase_backup_cursor_${Math.random().toString(36).slice(2, 10)}`);
      await run(sql`declare ${cursor} no scroll cursor for ${query}`);
      try {
        for (;;) {
          const rows = await run(sql<{ line: string }>`fetch forward ${sql.lit(batchRows)} from ${cursor}`);
          if (rows.length === 0) return;
          yield new TextEncoder().encode(`${rows.map((r) => r.line).join('\n')}\n`);
          if (rows.length < batchRows) return;
        }
      } finally {
        await run(sql`close ${cursor}`).catch(() => undefined);
      }
    },
    async *copyOut(query) {
      const { to } = await import('pg-copy-streams');
      const stream = client.query(to(compile(query, false).sql));
      for await (const chunk of stream) yield chunk as Uint8Array;
    },
    async copyIn(query, source) {
      const { from } = await import('pg-copy-streams');
      const stream = client.query(from(compile(query, false).sql));
      await pipeline(Readable.from(source), stream);
      return stream.rowCount;
    },
    async release(error) {
      if (error) {
        // The connection may be mid-COPY or mid-transaction: do not give it back to the pool.
        client.release(error);
        return;
      }
      try {
        for (const reset of RESET_OUTPUT) await run(reset);
        client.release();
      } catch (resetError) {
        client.release(resetError as Error);
      }
    },
  };
}
