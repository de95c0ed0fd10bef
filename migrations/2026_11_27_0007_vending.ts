import { type Kysely, sql } from 'kysely';

// The vending fleet: dictionaries (locations, nomenclature), machines, tasks with their
// inventory reservations and uploads, daily operator ratings, and Telegram chat links.
// Every list and job query has an index below, named after the query it serves.

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the current schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('locations')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('code', 'text', (col) => col.notNull().unique())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('address', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();

  // The product catalog, named as the deployment guide's check queries it.
  await db.schema
    .createTable('nomenclature')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('sku', 'text', (col) => col.notNull().unique())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('category', 'text')
    .addColumn('unit', 'text', (col) => col.notNull().defaultTo('pcs'))
    .addColumn('price', 'numeric(12, 2)', (col) => col.check(sql`price >= 0`))
    .addColumn('is_active', 'boolean', (col) => col.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('machines')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('code', 'text', (col) => col.notNull().unique())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('location_id', 'uuid', (col) => col.references('locations.id').onDelete('set null'))
    .addColumn('status', 'text', (col) =>
      col.notNull().defaultTo('active').check(sql`status in ('active', 'maintenance', 'offline', 'retired')`),
    )
    .addColumn('last_serviced_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  // The list is ordered by code (unique index above); filtered lists keep that order.
  await db.schema.createIndex('machines_status_code_idx').on('machines').columns(['status', 'code']).execute();
  await db.schema.createIndex('machines_location_code_idx').on('machines').columns(['location_id', 'code']).execute();

  await db.schema
    .createTable('tasks')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    // A short number people can type (/done 42); the id stays the API's key.
    .addColumn('number', 'bigint', (col) => col.notNull().unique().generatedAlwaysAsIdentity())
    .addColumn('machine_id', 'uuid', (col) => col.notNull().references('machines.id').onDelete('cascade'))
    .addColumn('type', 'text', (col) => col.notNull().check(sql`type in ('refill', 'collection', 'maintenance')`))
    .addColumn('status', 'text', (col) =>
      col
        .notNull()
        .defaultTo('pending')
        .check(sql`status in ('pending', 'assigned', 'overdue', 'completed', 'cancelled')`),
    )
    .addColumn('assigned_to', 'uuid', (col) => col.references('users.id').onDelete('set null'))
    // Millisecond precision, as the API writes times: the keyset cursor holds it exactly.
    .addColumn('due_at', sql`timestamptz(3)`, (col) => col.notNull())
    .addColumn('completed_at', 'timestamptz')
    .addColumn('completed_by', 'uuid', (col) => col.references('users.id').onDelete('set null'))
    .addColumn('cancelled_at', 'timestamptz')
    .addColumn('notes', 'text')
    // Set when the operator was told the task is overdue, so they are told once.
    .addColumn('overdue_notified_at', 'timestamptz')
    .addColumn('created_by', 'uuid', (col) => col.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  // Lists are keyset-ordered by (due_at, id): whole list, an operator's own, by status, by machine.
  await db.schema.createIndex('tasks_due_idx').on('tasks').columns(['due_at', 'id']).execute();
  await db.schema.createIndex('tasks_assignee_due_idx').on('tasks').columns(['assigned_to', 'due_at', 'id']).execute();
  await db.schema.createIndex('tasks_status_due_idx').on('tasks').columns(['status', 'due_at', 'id']).execute();
  await db.schema.createIndex('tasks_machine_due_idx').on('tasks').columns(['machine_id', 'due_at', 'id']).execute();
  // overdue_tasks: open tasks past due, and overdue ones whose operator has not been told yet.
  await db.schema
    .createIndex('tasks_open_due_idx')
    .on('tasks')
    .column('due_at')
    .where(sql.ref('status'), 'in', ['pending', 'assigned'])
    .execute();
  await db.schema
    .createIndex('tasks_overdue_unnotified_idx')
    .on('tasks')
    .column('assigned_to')
    .where(sql<boolean>`status = 'overdue' and overdue_notified_at is null and assigned_to is not null`)
    .execute();
  // operator_ratings: an operator's tasks completed in a day, and tasks due in a day.
  await db.schema
    .createIndex('tasks_assignee_completed_idx')
    .on('tasks')
    .columns(['assigned_to', 'completed_at'])
    .where(sql.ref('completed_at'), 'is not', null)
    .execute();

  await db.schema
    .createTable('inventory_reservations')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('task_id', 'uuid', (col) => col.notNull().references('tasks.id').onDelete('cascade'))
    .addColumn('product_id', 'uuid', (col) => col.notNull().references('nomenclature.id'))
    .addColumn('quantity', 'integer', (col) => col.notNull().check(sql`quantity > 0`))
    .addColumn('status', 'text', (col) =>
      col.notNull().defaultTo('active').check(sql`status in ('active', 'released', 'expired')`),
    )
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addColumn('released_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('inventory_reservations_task_idx')
    .on('inventory_reservations')
    .columns(['task_id', 'created_at'])
    .execute();
  // expired_reservations: active ones past expires_at.
  await db.schema
    .createIndex('inventory_reservations_active_expiry_idx')
    .on('inventory_reservations')
    .column('expires_at')
    .where(sql.ref('status'), '=', 'active')
    .execute();
  // How much of a product is held (and a product cannot be dropped while reserved).
  await db.schema
    .createIndex('inventory_reservations_product_idx')
    .on('inventory_reservations')
    .columns(['product_id', 'status'])
    .execute();

  await db.schema
    .createTable('operator_ratings')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('operator_id', 'uuid', (col) => col.notNull().references('users.id').onDelete('cascade'))
    .addColumn('period', 'date', (col) => col.notNull())
    .addColumn('score', 'numeric(5, 2)', (col) => col.notNull().check(sql`score between 0 and 100`))
    .addColumn('tasks_done', 'integer', (col) => col.notNull())
    .addColumn('tasks_on_time', 'integer', (col) => col.notNull())
    .addColumn('tasks_overdue', 'integer', (col) => col.notNull())
    .addColumn('tasks_missed', 'integer', (col) => col.notNull())
    .addColumn('computed_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('operator_ratings_operator_period_key', ['operator_id', 'period'])
    .execute();
  // The list by period, best first (keyset on score, operator).
  await db.schema
    .createIndex('operator_ratings_period_score_idx')
    .on('operator_ratings')
    .columns(['period', 'score desc', 'operator_id'])
    .execute();
  await db.schema.createIndex('operator_ratings_created_idx').on('operator_ratings').column('created_at').execute();

  // One row per user who asked for a link code; chat_id once /start <code> linked the chat.
  await db.schema
    .createTable('telegram_links')
    .addColumn('user_id', 'uuid', (col) => col.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('chat_id', 'bigint', (col) => col.unique())
    .addColumn('username', 'text')
    .addColumn('link_code_hash', 'text', (col) => col.unique())
    .addColumn('link_code_expires_at', 'timestamptz')
    .addColumn('linked_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('uploads')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('task_id', 'uuid', (col) => col.notNull().references('tasks.id').onDelete('cascade'))
    .addColumn('object_key', 'text', (col) => col.notNull().unique())
    .addColumn('content_type', 'text', (col) => col.notNull())
    .addColumn('size_bytes', 'integer', (col) => col.notNull())
    .addColumn('sha256', 'text', (col) => col.notNull())
    .addColumn('original_name', 'text')
    .addColumn('uploaded_by', 'uuid', (col) => col.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('uploads_task_idx').on('uploads').columns(['task_id', 'created_at']).execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'uploads',
    'telegram_links',
    'operator_ratings',
    'inventory_reservations',
    'tasks',
    'machines',
    'nomenclature',
    'locations',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
