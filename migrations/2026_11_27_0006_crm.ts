import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the current schema types
export async function up(db: Kysely<any>): Promise<void> {
  // One row per sync source (leads, attendance, ...): where its next incremental read starts.
  // Another feature may have made it first, hence ifNotExists.
  await db.schema
    .createTable('sync_cursors')
    .ifNotExists()
    .addColumn('source', 'text', (col) => col.primaryKey())
    .addColumn('cursor', 'jsonb', (col) => col.notNull())
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('leads')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('external_id', 'text', (col) => col.notNull().unique())
    .addColumn('name', 'text')
    .addColumn('phone', 'text')
    .addColumn('email', 'text')
    .addColumn('city', 'text')
    .addColumn('source', 'text')
    .addColumn('status', 'text', (col) => col.notNull().defaultTo('new'))
    .addColumn('assigned_to', 'uuid', (col) => col.references('users.id').onDelete('set null'))
    // The source's own assignee value (an agent's email), kept when no user matches it yet.
    .addColumn('source_assignee', 'text')
    .addColumn('notes', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull())
    // Last change on either side (a sync or a PATCH): what lists sort and filter by.
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull())
    // The source row's updated_at as last synced, and the last PATCH through the API: a sync keeps
    // the local status/assignee/notes when the local edit is the newer of the two.
    .addColumn('source_updated_at', 'timestamptz')
    .addColumn('edited_at', 'timestamptz')
    .addColumn('synced_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('leads_updated_idx').on('leads').columns(['updated_at desc', 'id desc']).execute();
  await db.schema
    .createIndex('leads_assigned_updated_idx')
    .on('leads')
    .columns(['assigned_to', 'updated_at desc', 'id desc'])
    .execute();
  await db.schema
    .createIndex('leads_status_updated_idx')
    .on('leads')
    .columns(['status', 'updated_at desc', 'id desc'])
    .execute();

  await db.schema
    .createTable('attendance')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('employee_code', 'text', (col) => col.notNull())
    .addColumn('employee_name', 'text')
    .addColumn('punched_at', 'timestamptz', (col) => col.notNull())
    .addColumn('direction', 'text', (col) => col.notNull().check(sql`direction in ('in', 'out')`))
    .addColumn('device_id', 'text', (col) => col.notNull().defaultTo(''))
    .addColumn('external_id', 'text')
    .addColumn('synced_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  // The natural key: one person, one device, one instant. A device re-sending a punch (paging
  // overlap, a retried page, a double scan) lands on it and is dropped.
  await db.schema
    .createIndex('attendance_natural_key')
    .on('attendance')
    .columns(['employee_code', 'device_id', 'punched_at'])
    .unique()
    .execute();
  await db.schema
    .createIndex('attendance_punched_idx')
    .on('attendance')
    .columns(['punched_at desc', 'id desc'])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('attendance').execute();
  await db.schema.dropTable('leads').execute();
  // sync_cursors may serve other sources too: only this feature's rows go, and the table only
  // when nothing else is left in it.
  await db.deleteFrom('sync_cursors').where('source', 'in', ['leads', 'attendance']).execute();
  const others = await db.selectFrom('sync_cursors').select('source').limit(1).executeTakeFirst();
  if (!others) await db.schema.dropTable('sync_cursors').execute();
}
