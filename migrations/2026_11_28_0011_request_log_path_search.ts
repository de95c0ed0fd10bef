import { type Kysely, sql } from 'kysely';
import {
  indexClosedRequestLogPartitions,
  pathIndexName,
  requestLogDayPartitions,
} from '../lib/observability/partitions.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the current schema types
export async function up(db: Kysely<any>): Promise<void> {
  // "path contains" read every row of the 30 days when the string was rare (5.9 s on the 10M-row
  // bench table): a trigram index on each day partition that has ended answers it from the few
  // matching rows, and only today's partition is scanned. pg_trgm ships with PostgreSQL's contrib
  // (Debian, the official images, RDS, Neon, Supabase; PGlite loads it in
  // local/embedded-postgres.ts) and is a trusted extension, so the database's owner may create it.
  // Where it cannot be created the search still works, as a scan: the migration says so and goes on.
  await sql`
    do $$
    begin
      if not exists (select 1 from pg_extension where extname = 'pg_trgm') then
        if exists (select 1 from pg_available_extensions where name = 'pg_trgm') then
          begin
            create extension pg_trgm;
          exception when insufficient_privilege then
            raise notice 'pg_trgm could not be created (%): request log path search will scan', sqlerrm;
          end;
        else
          raise notice 'pg_trgm is not installed: request log path search will scan';
        end if;
      end if;
    end
    $$`.execute(db);
  await indexClosedRequestLogPartitions(db);
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  // The extension stays: something else may use it.
  for (const { name } of await requestLogDayPartitions(db)) {
    await sql`drop index if exists ${sql.id(pathIndexName(name))}`.execute(db);
  }
}
