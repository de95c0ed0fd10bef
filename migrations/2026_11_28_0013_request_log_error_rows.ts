import { type Kysely, sql } from 'kysely';

// The partial index of 4xx/5xx rows carries every column, so a page of errors (status=5xx, 404)
// is read from the index alone: its rows are ~0.5% of a day's, one to a heap page, and a page of
// 50 read ~50 heap pages where a plain page reads 5. Once autovacuum has marked a day's pages
// all-visible, the same page reads ~15 index pages, in order, mostly the ones the page before it
// read. Only error rows carry the extra width: ~3.5 MB a day of the 10M-row bench table (104 MB
// for its 31 days, 22 MB before).
const COLUMNS = sql`method, path, route, duration_ms, user_id, ip, request_id, error_code, error_message`;

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the current schema types
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index request_logs_errors_idx`.execute(db);
  await sql`create index request_logs_errors_idx on request_logs (created_at, id, status) include (${COLUMNS})
    where status >= 400`.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index request_logs_errors_idx`.execute(db);
  await sql`create index request_logs_errors_idx on request_logs (created_at, id, status) where status >= 400`.execute(
    db,
  );
}
