import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the current schema types
export async function up(db: Kysely<any>): Promise<void> {
  // "path contains" read every row of the 30 days when the string was rare (5.9 s on the 10M-row
  // bench table): a trigram index answers it from the few matching rows. pg_trgm ships with
  // PostgreSQL's contrib (Debian, the official images, RDS, Neon, Supabase; PGlite loads it in
  // local/embedded-postgres.ts) and is a trusted extension, so the database's owner may create it.
  // Where it cannot be created the search still works, as a scan: the migration says so and goes on.
  // The operator class is named with the extension's schema: a drill migrates a scratch schema
  // whose search_path does not reach the one pg_trgm was created in.
  await sql`
    do $$
    declare
      trgm_schema name;
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
      select extnamespace::regnamespace::name into trgm_schema from pg_extension where extname = 'pg_trgm';
      if trgm_schema is not null then
        execute format(
          'create index if not exists request_logs_path_trgm_idx on request_logs using gin (path %I.gin_trgm_ops)',
          trgm_schema
        );
      end if;
    end
    $$`.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  // The extension stays: something else may use it.
  await sql`drop index if exists request_logs_path_trgm_idx`.execute(db);
}
