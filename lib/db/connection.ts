import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from '../../schema/database.ts';

const INT8_OID = 20;

/**
 * int8 (counts, bigserial ids) become JS numbers on every driver, so a count has one shape
 * wherever it runs; values past 2^53 stay strings rather than silently lose precision.
 * numeric stays a string (exact decimals).
 */
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') {
      return (value: string) => {
        const n = Number(value);
        return Number.isSafeInteger(n) ? n : value;
      };
    }
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export type PoolOptions = {
  max?: number;
  ssl?: boolean;
  /** How long to wait for a TCP connection before failing fast. */
  connectTimeoutMs?: number;
  /**
   * Client-side limit on each text query (what Kysely sends), in ms; 0 or unset: none. A query
   * past it fails and its connection is destroyed, so a connection the network silently dropped
   * (no RST ever arrives) cannot hold requests or a pool slot. Streams (COPY, cursors) are not
   * limited: a backup's run for minutes. One that must not (the request log writer's COPY) holds
   * itself to queryTimeoutOf(pool).
   */
  queryTimeoutMs?: number;
  onError?: (error: Error) => void;
  /** Workers pass their socket factory options through here. */
  extra?: Partial<pg.PoolConfig>;
};

export function createPool(url: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    ssl: options.ssl ? { rejectUnauthorized: false } : undefined,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    types: typeParsers,
    Client: clientClass(options.queryTimeoutMs),
    ...options.extra,
  });
  if (options.queryTimeoutMs) queryTimeouts.set(pool, options.queryTimeoutMs);
  // An idle client whose server went away emits 'error' on the pool; without a listener it
  // would crash the process. The next query gets a fresh connection.
  pool.on('error', (error) => options.onError?.(error));
  // A checked-out client whose socket dies fails its queries *and* emits 'error'; pg-pool only
  // listens while the client is idle, so without this a dropped connection crashes the process.
  pool.on('connect', (client) => {
    client.on('error', (error) => options.onError?.(error));
  });
  return pool;
}

const QUERY_TIMEOUT_MESSAGE = 'Query read timeout';
const queryTimeouts = new WeakMap<pg.Pool, number>();

/**
 * The pool's limit on a text query (queryTimeoutMs), or undefined: for a stream whose whole run is
 * short (the request log writer's COPY) to hold itself to the same limit.
 */
export function queryTimeoutOf(pool: pg.Pool): number | undefined {
  return queryTimeouts.get(pool);
}

/** Closes a client's socket at once: a query still on the wire fails, and the pool drops the client. */
export function destroyConnection(client: pg.Client | pg.PoolClient): void {
  (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
}

/**
 * pg's Client, with text queries (text and values, or a config such as a named statement's; as a
 * promise or with a callback, as pg-pool's own pool.query() calls it) handed to pg with their
 * callback and nothing else:
 *
 * - pg sets a Query's callback after building it when asked for a promise (Kysely always is), and
 *   again to wrap it when given query_timeout. On Node 22 a query whose callback was set after it
 *   was built left its result rows alive through two young-generation collections: a page of 50
 *   logs promoted ~35 KB to the old generation, each minor GC copied megabytes and took 5-10 ms
 *   instead of under 1, and a request that met one paid for it. Built with its callback, a Query
 *   leaves nothing behind (test/db-connection.test.ts). So the promise is made here.
 * - With `timeoutMs`, the read timeout is kept here too, for the same reason: the caller gets
 *   "Query read timeout" and the connection it fired on is destroyed, since the query may still
 *   be on the wire and every later query on that connection would queue behind it. The pool
 *   drops that client when it is released, with or without an error.
 */
function clientClass(timeoutMs: number | undefined): typeof pg.Client {
  return class Client extends pg.Client {
    // biome-ignore lint/suspicious/noExplicitAny: pg's query() has many overloads; only text queries are changed
    override query(...args: any[]): any {
      const last = args[args.length - 1];
      const callback =
        typeof last === 'function' ? (last as (error: Error | null, result?: unknown) => void) : undefined;
      const query = callback ? args.slice(0, -1) : args;
      const [text, values] = query;
      const asConfig = query.length === 1 && isQueryConfig(text);
      if (!asConfig && (typeof text !== 'string' || query.length > 2)) {
        return (super.query as (...a: unknown[]) => unknown)(...args);
      }
      const { query_timeout: ownTimeout, ...config } = (asConfig ? text : { text, values }) as {
        query_timeout?: number;
      };
      const limit = ownTimeout ?? timeoutMs;
      const send = (done: (error: Error | null, result?: unknown) => void) => {
        let settled = false;
        const timer = limit
          ? setTimeout(() => {
              settled = true;
              // Before the caller hears of it: whoever releases this client then (Kysely releases
              // it without an error) releases one the pool drops, and a caller waiting for the
              // pool's slot gets a fresh connection, not this one and its coming "Connection
              // terminated unexpectedly". pg-pool drops a released client that is not queryable.
              (this as unknown as { _queryable: boolean })._queryable = false;
              destroyConnection(this);
              done(new Error(QUERY_TIMEOUT_MESSAGE));
            }, limit)
          : undefined;
        (super.query as (...a: unknown[]) => unknown)(config, (error: Error | null, result?: unknown) => {
          if (settled) return; // answered after its timeout: the caller has its error already
          settled = true;
          clearTimeout(timer);
          done(error, result);
        });
      };
      if (callback) return send(callback);
      return new Promise((resolve, reject) => {
        send((error, result) => (error ? reject(error) : resolve(result)));
      }).catch((error: Error) => {
        // A stack that leads back to the awaiting caller rather than to the socket's read.
        Error.captureStackTrace(error);
        throw error;
      });
    }
  };
}

/** A query given as a config object ({ text, values, name }), not a stream or cursor (a submittable). */
const isQueryConfig = (arg: unknown): arg is pg.QueryConfig =>
  typeof arg === 'object' &&
  arg !== null &&
  typeof (arg as pg.QueryConfig).text === 'string' &&
  typeof (arg as { submit?: unknown }).submit !== 'function';

const pools = new WeakMap<object, pg.Pool>();

export function createDb(pool: pg.Pool): Kysely<Database> {
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  pools.set(db, pool);
  return db;
}

/**
 * The pg pool behind a Db made by createDb, for work that needs one connection of its own for a
 * while (a backup's snapshot transaction and its COPY streams).
 */
export function poolOf(db: Kysely<Database>): pg.Pool | undefined {
  return pools.get(db);
}

export type Db = Kysely<Database>;

/** Whether a server's version() string is the embedded PGlite's (it speaks the protocol, not COPY). */
export const isPgliteVersion = (version: string) => /PGlite/i.test(version);

/** Whether `db` is the embedded PGlite, as its server says. */
// biome-ignore lint/suspicious/noExplicitAny: any schema (drills and scratch databases included)
export async function isPglite(db: Kysely<any>): Promise<boolean> {
  const { rows } = await sql<{ version: string }>`select version() as version`.execute(db);
  return isPgliteVersion(rows[0]?.version ?? '');
}
