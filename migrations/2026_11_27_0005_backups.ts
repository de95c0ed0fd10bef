import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the current schema types
export async function up(db: Kysely<any>): Promise<void> {
  // An index of the backups this database made. Object storage (each backup's manifest.json) is
  // the source of truth for what can be restored; this table answers "is one running?" and "how
  // old is the newest complete one?" without listing the bucket, and keeps failed attempts.
  await db.schema
    .createTable('backups')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('running', 'complete', 'failed')`))
    .addColumn('trigger', 'text', (col) => col.notNull().check(sql`trigger in ('job', 'cli', 'api')`))
    .addColumn('holder', 'text', (col) => col.notNull())
    .addColumn('started_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addColumn('bytes', 'bigint')
    .addColumn('tables', 'integer')
    .addColumn('rows', 'bigint')
    .addColumn('encrypted', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('error', 'text')
    .addColumn('verified_at', 'timestamptz')
    .addColumn('verify_ok', 'boolean')
    .addColumn('verify_message', 'text')
    .execute();
  await db.schema
    .createIndex('backups_complete_idx')
    .on('backups')
    .column('finished_at desc')
    .where(sql.ref('status'), '=', 'complete')
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('backups').execute();
}
