import { type Kysely, sql } from 'kysely';
import { ensureRequestLogPartitions } from '../lib/observability/partitions.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the current schema types
export async function up(db: Kysely<any>): Promise<void> {
  // Partitioned by day: retention drops a partition instead of deleting millions of rows.
  await sql`create table request_logs (
    id bigserial,
    created_at timestamptz not null default now(),
    method text not null,
    path text not null,
    route text,
    status smallint not null,
    duration_ms real not null,
    user_id uuid,
    ip text,
    request_id text,
    error_code text,
    error_message text,
    primary key (created_at, id)
  ) partition by range (created_at)`.execute(db);
  // The primary key serves the newest-first keyset (created_at, id). Errors and per-user and
  // per-route views get their own, the error one partial so it stays small.
  await sql`create index request_logs_errors_idx on request_logs (created_at, id) where status >= 400`.execute(db);
  await sql`create index request_logs_user_idx on request_logs (user_id, created_at) where user_id is not null`.execute(
    db,
  );
  await sql`create index request_logs_route_idx on request_logs (route, created_at)`.execute(db);
  await ensureRequestLogPartitions(db, new Date(Date.now() - 86_400_000), 3);

  // Per-minute rollup per route, kept by the writer, so charts never scan raw rows. buckets is a
  // latency histogram: counts below 5, 10, 25, 50, 100, 250, 500, 1000, 2500 ms and above.
  await db.schema
    .createTable('request_log_minutes')
    .addColumn('minute', 'timestamptz', (col) => col.notNull())
    .addColumn('method', 'text', (col) => col.notNull())
    .addColumn('route', 'text', (col) => col.notNull())
    .addColumn('requests', 'integer', (col) => col.notNull())
    .addColumn('errors', 'integer', (col) => col.notNull())
    .addColumn('duration_sum_ms', 'double precision', (col) => col.notNull())
    .addColumn('duration_max_ms', 'real', (col) => col.notNull())
    .addColumn('buckets', sql`integer[]`, (col) => col.notNull())
    .addPrimaryKeyConstraint('request_log_minutes_pkey', ['minute', 'method', 'route'])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('request_log_minutes').execute();
  await sql`drop table request_logs cascade`.execute(db);
}
