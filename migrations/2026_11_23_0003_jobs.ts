import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the current schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('cron_job_logs')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('job_name', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) =>
      col.notNull().check(sql`status in ('running', 'success', 'error', 'skipped')`),
    )
    .addColumn('trigger', 'text', (col) => col.notNull().check(sql`trigger in ('schedule', 'http', 'manual')`))
    .addColumn('scheduled_for', 'timestamptz')
    .addColumn('started_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addColumn('duration_ms', 'integer')
    .addColumn('records_processed', 'integer')
    .addColumn('message', 'text')
    .addColumn('error', 'text')
    .addColumn('runtime', 'text', (col) => col.notNull())
    .addColumn('holder', 'text', (col) => col.notNull())
    .execute();
  // A scheduled slot runs once: a retried event (or a second replica) cannot insert it again.
  await db.schema
    .createIndex('cron_job_logs_slot_key')
    .on('cron_job_logs')
    .columns(['job_name', 'scheduled_for'])
    .unique()
    .where(sql.ref('scheduled_for'), 'is not', null)
    .execute();
  // Newest first, overall and per job (history views, keyset pagination, last run per job).
  await db.schema
    .createIndex('cron_job_logs_started_idx')
    .on('cron_job_logs')
    .columns(['started_at desc', 'id desc'])
    .execute();
  await db.schema
    .createIndex('cron_job_logs_job_started_idx')
    .on('cron_job_logs')
    .columns(['job_name', 'started_at desc', 'id desc'])
    .execute();
  await db.schema
    .createIndex('cron_job_logs_running_idx')
    .on('cron_job_logs')
    .column('job_name')
    .where(sql.ref('status'), '=', 'running')
    .execute();

  // One lease row per job: works behind transaction poolers (Hyperdrive, PgBouncer) and on
  // PGlite, where advisory locks do not.
  await db.schema
    .createTable('job_locks')
    .addColumn('job_name', 'text', (col) => col.primaryKey())
    .addColumn('holder', 'text', (col) => col.notNull())
    .addColumn('locked_until', 'timestamptz', (col) => col.notNull())
    .addColumn('acquired_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('job_locks').execute();
  await db.schema.dropTable('cron_job_logs').execute();
}
