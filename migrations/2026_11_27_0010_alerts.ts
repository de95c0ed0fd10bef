import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the current schema types
export async function up(db: Kysely<any>): Promise<void> {
  // One row per incident: opened when an alert rule starts to hold, resolved when it stops. The
  // *_notified_at columns say whether its one message and its one recovery message went out, so
  // a restart or another replica never sends them again.
  await db.schema
    .createTable('alert_incidents')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('key', 'text', (col) => col.notNull())
    .addColumn('rule', 'text', (col) => col.notNull())
    .addColumn('summary', 'text', (col) => col.notNull())
    .addColumn('details', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('opened_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('resolved_at', 'timestamptz')
    .addColumn('open_notified_at', 'timestamptz')
    .addColumn('resolve_notified_at', 'timestamptz')
    .addColumn('notify_error', 'text')
    .execute();
  // At most one open incident per key (a job, "health", "backup"): a second replica's insert of
  // the same incident finds it taken.
  await db.schema
    .createIndex('alert_incidents_open_key')
    .on('alert_incidents')
    .column('key')
    .unique()
    .where(sql.ref('resolved_at'), 'is', null)
    .execute();
  await db.schema.createIndex('alert_incidents_opened_idx').on('alert_incidents').column('opened_at').execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('alert_incidents').execute();
}
