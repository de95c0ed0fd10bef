import { DummyDriver, Kysely, MysqlAdapter, MysqlIntrospector, MysqlQueryCompiler, type RawBuilder, sql } from 'kysely';
import type { Connection, ConnectionOptions } from 'mysql2/promise';
import { NETWORK_CODES } from '../errors.ts';
import { detectRuntime } from '../runtime.ts';
import { LEAD_FIELDS, type LeadColumns } from './leads-mapping.ts';

/** A source row as read: every lead field by name, raw values as the driver returns them. */
export type SourceRow = Record<(typeof LEAD_FIELDS)[number], unknown>;

/** Position of the incremental read: the last row's (updated_at, id), exactly as the source returned them. */
export type LeadsCursor = { updatedAt: string; id: string | number };

export type LeadsSourceOptions = {
  url: string;
  table: string;
  columns: LeadColumns;
  /** Budget of one connect or one query; past it the connection is dropped and the call fails. */
  timeoutMs: number;
};

/** Compiles `sql` templates to MySQL text and placeholders; it never connects. */
const mysqlDialect = new Kysely<Record<string, never>>({
  dialect: {
    createAdapter: () => new MysqlAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new MysqlIntrospector(db),
    createQueryCompiler: () => new MysqlQueryCompiler(),
  },
});

export class SourceTimeoutError extends Error {
  override name = 'SourceTimeoutError';
  readonly code = 'ETIMEDOUT';
}

/**
 * The leads table of a MySQL/MariaDB database, read in (updated_at, id) order. One connection,
 * opened on first use; any failure drops it so the next call (a retry) starts clean.
 */
export class MysqlLeadsSource {
  #connection: Connection | undefined;
  readonly #options: LeadsSourceOptions;

  constructor(options: LeadsSourceOptions) {
    this.#options = options;
  }

  /**
   * The next `limit` rows after `cursor` (from the start when none), changed before `before` (a
   * value of the updated_at column: rows younger than that are left for the next run).
   */
  async readBatch(cursor: LeadsCursor | undefined, limit: number, before: string): Promise<SourceRow[]> {
    const { columns } = this.#options;
    const updated = sql.ref(columns.updated_at as string);
    const id = sql.ref(columns.external_id as string);
    const after = cursor
      ? sql`(${updated} > ${cursor.updatedAt} or (${updated} = ${cursor.updatedAt} and ${id} > ${cursor.id}))`
      : sql`${updated} is not null`;
    return this.#query<SourceRow>(
      sql`select ${this.#selectList()} from ${sql.table(this.#options.table)}
        where ${after} and ${updated} < ${before} order by ${updated}, ${id} limit ${limit}`,
    );
  }

  /** The source server's clock (UTC), so the settling window does not depend on ours. */
  async clock(): Promise<Date> {
    const [row] = await this.#query<{ now: string }>(sql`select utc_timestamp(3) as now`);
    return new Date(`${String(row?.now).replace(' ', 'T')}Z`);
  }

  /** Rows the cursor can never reach (no updated_at): how many, and a few of their ids. */
  async rowsWithoutUpdatedAt(): Promise<{ count: number; sampleIds: string[] }> {
    const { columns } = this.#options;
    const id = sql.ref(columns.external_id as string);
    const rows = await this.#query<{ id: unknown }>(
      sql`select ${id} as id from ${sql.table(this.#options.table)}
        where ${sql.ref(columns.updated_at as string)} is null order by ${id} limit 1001`,
    );
    return { count: rows.length, sampleIds: rows.slice(0, 5).map((r) => String(r.id)) };
  }

  /** Ends the connection politely, or drops it if the server does not answer. */
  async close(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    if (!connection) return;
    await withDeadline(connection.end(), this.#options.timeoutMs).catch(() => connection.destroy());
  }

  #selectList() {
    const { columns } = this.#options;
    return sql.join(
      LEAD_FIELDS.map((field) => {
        const column = columns[field];
        return column ? sql`${sql.ref(column)} as ${sql.ref(field)}` : sql`null as ${sql.ref(field)}`;
      }),
    );
  }

  async #query<Row>(query: RawBuilder<unknown>): Promise<Row[]> {
    const compiled = query.compile(mysqlDialect);
    const connection = await this.#connect();
    try {
      const [rows] = await withDeadline(
        connection.query({ sql: compiled.sql, values: [...compiled.parameters] }),
        this.#options.timeoutMs,
      );
      return rows as Row[];
    } catch (error) {
      // A timed-out or broken connection is never reused: the next call reconnects.
      this.#connection = undefined;
      connection.destroy();
      throw error;
    }
  }

  async #connect(): Promise<Connection> {
    if (this.#connection) return this.#connection;
    const { createConnection } = await import('mysql2/promise');
    const options: ConnectionOptions = {
      uri: this.#options.url.replace(/^mariadb:/, 'mysql:'),
      connectTimeout: this.#options.timeoutMs,
      // workerd forbids code generation, so mysql2 parses rows without it there; on Node its
      // generated row parser reads a batch faster.
      disableEval: detectRuntime() === 'workerd',
      // Dates as the server writes them: exact (DATETIME(6) keeps its microseconds) and handed
      // back unchanged in the cursor; converted with LEADS_MYSQL_TIMEZONE when validated.
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      charset: 'utf8mb4',
    };
    const connection = await withDeadline(createConnection(options), this.#options.timeoutMs);
    connection.on('error', () => {
      if (this.#connection === connection) this.#connection = undefined;
    });
    try {
      // TIMESTAMP columns come out in UTC whatever the server's own zone.
      await withDeadline(connection.query("set time_zone = '+00:00'"), this.#options.timeoutMs);
    } catch (error) {
      connection.destroy();
      throw error;
    }
    this.#connection = connection;
    return connection;
  }
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SourceTimeoutError(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

const TRANSIENT_CODES = new Set([
  ...NETWORK_CODES,
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_QUERY_INTERRUPTED',
]);

/** Network trouble and server-side hiccups are worth a retry; a bad table or column name is not. */
export function isTransientMysqlError(error: unknown): boolean {
  if (error instanceof SourceTimeoutError) return true;
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  return error instanceof Error && /closed state|Connection lost|socket|network/i.test(error.message);
}
