import { type Kysely, sql } from 'kysely';
import { rollUpErrorDays } from '../lib/observability/rollups.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the current schema types
export async function up(db: Kysely<any>): Promise<void> {
  // The errors view over a week read ~5,400 hourly groups on the 10M-row bench table (p95 55-63 ms
  // through HTTP): the same groups per UTC day make a week's whole days ~700 rows, and the hourly
  // ones are left for the hours at either end of a window.
  await db.schema
    .createTable('request_log_error_days')
    .addColumn('day', 'timestamptz', (col) => col.notNull())
    .addColumn('method', 'text', (col) => col.notNull())
    .addColumn('route', 'text', (col) => col.notNull())
    .addColumn('status', 'smallint', (col) => col.notNull())
    .addColumn('count', 'integer', (col) => col.notNull())
    .addColumn('first_seen', 'timestamptz', (col) => col.notNull())
    .addColumn('last_seen', 'timestamptz', (col) => col.notNull())
    .addColumn('samples', sql`text[]`, (col) => col.notNull())
    .addPrimaryKeyConstraint('request_log_error_days_pkey', ['day', 'method', 'route', 'status'])
    .execute();
  // Errors already logged get their days from the hourly groups.
  const { rows } = await sql<{ first: Date | null; last: Date | null }>`
    select min(hour) as first, max(hour) as last from request_log_error_hours`.execute(db);
  const range = rows[0];
  if (range?.first && range.last) {
    await rollUpErrorDays(db, new Date(range.first), new Date(new Date(range.last).getTime() + 1));
  }
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('request_log_error_days').execute();
}
