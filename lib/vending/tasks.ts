import { type Expression, type SqlBool, sql } from 'kysely';
import type { InventoryReservation, Role, TaskStatus, TaskType } from '../../schema/database.ts';
import { can } from '../auth/permissions.ts';
import type { Db } from '../db/connection.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { cursorTimestamp, decodeCursor, InvalidCursorError, type Page, pageOf } from '../pagination.ts';
import { isoTimestamp, isoTimestampOrNull, isUuid } from './sql.ts';

/** Who is acting: managers see every task, operators only those assigned to them. */
export type Actor = { userId: string; role: Role };

/** Holders of tasks:write (managers and up) see the whole fleet's tasks; everyone else their own. */
export function seesAllTasks(actor: Actor): boolean {
  return can(actor.role, 'tasks:write');
}

export const OPEN_STATUSES = ['pending', 'assigned', 'overdue'] as const satisfies readonly TaskStatus[];

export type TaskView = {
  id: string;
  number: number;
  machineId: string;
  machine: { code: string; name: string };
  type: TaskType;
  status: TaskStatus;
  assignedTo: string | null;
  dueAt: string;
  completedAt: string | null;
  completedBy: string | null;
  cancelledAt: string | null;
  notes: string | null;
  createdAt: string;
  updatedAt: string;
};

export type ReservationView = {
  id: string;
  taskId: string;
  productId: string;
  quantity: number;
  status: 'active' | 'released' | 'expired';
  expiresAt: string;
  releasedAt: string | null;
  createdAt: string;
};

function selectTasks(db: Db) {
  return db
    .selectFrom('tasks as t')
    .innerJoin('machines as m', 'm.id', 't.machine_id')
    .select([
      't.id',
      't.number',
      't.machine_id',
      'm.code as machine_code',
      'm.name as machine_name',
      't.type',
      't.status',
      't.assigned_to',
      isoTimestamp('t.due_at').as('due_at'),
      isoTimestampOrNull('t.completed_at').as('completed_at'),
      't.completed_by',
      isoTimestampOrNull('t.cancelled_at').as('cancelled_at'),
      't.notes',
      isoTimestamp('t.created_at').as('created_at'),
      isoTimestamp('t.updated_at').as('updated_at'),
    ]);
}

type TaskRow = Awaited<ReturnType<ReturnType<typeof selectTasks>['executeTakeFirstOrThrow']>>;

function toTaskView(row: TaskRow): TaskView {
  return {
    id: row.id,
    number: Number(row.number),
    machineId: row.machine_id,
    machine: { code: row.machine_code, name: row.machine_name },
    type: row.type,
    status: row.status,
    assignedTo: row.assigned_to,
    dueAt: row.due_at,
    completedAt: row.completed_at,
    completedBy: row.completed_by,
    cancelledAt: row.cancelled_at,
    notes: row.notes,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toReservationView(row: {
  id: string;
  task_id: string;
  product_id: string;
  quantity: number;
  status: ReservationView['status'];
  expires_at: Date;
  released_at: Date | null;
  created_at: Date;
}): ReservationView {
  return {
    id: row.id,
    taskId: row.task_id,
    productId: row.product_id,
    quantity: row.quantity,
    status: row.status,
    expiresAt: row.expires_at.toISOString(),
    releasedAt: row.released_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
  };
}

export type TaskFilter = {
  /** A status, or `open` for pending, assigned and overdue together. */
  status?: TaskStatus | 'open';
  type?: TaskType;
  machineId?: string;
  assignedTo?: string;
  dueBefore?: Date;
  limit: number;
  cursor?: string;
};

/** Soonest due first, keyset on (due_at, id). Operators get their own tasks only. */
export async function listTasks(db: Db, actor: Actor, filter: TaskFilter): Promise<Page<TaskView>> {
  let query = selectTasks(db)
    .select(cursorTimestamp('t.due_at').as('cursor_at'))
    .orderBy('t.due_at')
    .orderBy('t.id')
    .limit(filter.limit + 1);
  if (!seesAllTasks(actor)) query = query.where('t.assigned_to', '=', actor.userId);
  if (filter.assignedTo) query = query.where('t.assigned_to', '=', filter.assignedTo);
  if (filter.status === 'open') query = query.where('t.status', 'in', OPEN_STATUSES);
  else if (filter.status) query = query.where('t.status', '=', filter.status);
  if (filter.type) query = query.where('t.type', '=', filter.type);
  if (filter.machineId) query = query.where('t.machine_id', '=', filter.machineId);
  if (filter.dueBefore) query = query.where('t.due_at', '<', filter.dueBefore);
  if (filter.cursor) {
    const [dueAt, id] = decodeCursor(filter.cursor, ['timestamp', 'string'] as const);
    if (!isUuid(id)) throw new InvalidCursorError('cursor is not one this API issued');
    query = query.where((eb) =>
      eb(eb.refTuple('t.due_at', 't.id'), '>', eb.tuple(sql<Date>`${dueAt}::timestamptz`, id)),
    );
  }
  return pageOf(await query.execute(), filter.limit, toTaskView, (row) => [row.cursor_at, row.id]);
}

/** The task if the actor may see it (an operator's own only); undefined otherwise. */
export async function findTask(db: Db, actor: Actor, id: string): Promise<TaskView | undefined> {
  if (!isUuid(id)) return undefined;
  let query = selectTasks(db).where('t.id', '=', id);
  if (!seesAllTasks(actor)) query = query.where('t.assigned_to', '=', actor.userId);
  const row = await query.executeTakeFirst();
  return row && toTaskView(row);
}

/** Like findTask, by the short number people type in Telegram (`/done 42`). */
export async function findTaskByNumber(db: Db, actor: Actor, number: number): Promise<TaskView | undefined> {
  if (!Number.isSafeInteger(number) || number <= 0) return undefined;
  let query = selectTasks(db).where('t.number', '=', number);
  if (!seesAllTasks(actor)) query = query.where('t.assigned_to', '=', actor.userId);
  const row = await query.executeTakeFirst();
  return row && toTaskView(row);
}

export async function listReservations(db: Db, taskId: string): Promise<ReservationView[]> {
  const rows = await db
    .selectFrom('inventory_reservations')
    .selectAll()
    .where('task_id', '=', taskId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toReservationView);
}

/** The user if they are an active operator (tasks are assigned to operators only). */
async function assertOperator(db: Db, userId: string): Promise<void> {
  const user = isUuid(userId)
    ? await db
        .selectFrom('users')
        .select('id')
        .where('id', '=', userId)
        .where('role', '=', 'operator')
        .where('is_active', '=', true)
        .executeTakeFirst()
    : undefined;
  if (!user) throw new NotFoundError(`no active operator with id ${userId}`);
}

export async function createTask(
  db: Db,
  actor: Actor,
  input: { machineId: string; type: TaskType; dueAt: Date; assignedTo?: string | null; notes?: string | null },
): Promise<TaskView> {
  const machine = await db.selectFrom('machines').select('id').where('id', '=', input.machineId).executeTakeFirst();
  if (!machine) throw new NotFoundError(`machine ${input.machineId} not found`);
  if (input.assignedTo) await assertOperator(db, input.assignedTo);
  const { id } = await db
    .insertInto('tasks')
    .values({
      machine_id: input.machineId,
      type: input.type,
      due_at: input.dueAt,
      assigned_to: input.assignedTo ?? null,
      status: input.assignedTo ? 'assigned' : 'pending',
      notes: input.notes ?? null,
      created_by: actor.userId,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return (await findTask(db, actor, id)) as TaskView;
}

/** Why a state change matched no row: the task is not there (for this actor) or not open. */
async function explainMiss(db: Db, actor: Actor, id: string, verb: string): Promise<never> {
  const task = await findTask(db, actor, id);
  if (!task) throw new NotFoundError('task not found');
  throw new ConflictError(`task #${task.number} is ${task.status}; only open tasks can be ${verb}`);
}

/**
 * Assigns (or reassigns) an open task to an operator. A pending task becomes assigned; an overdue
 * one stays overdue and its new operator will be told about it.
 */
export async function assignTask(db: Db, actor: Actor, id: string, operatorId: string): Promise<TaskView> {
  if (!isUuid(id)) throw new NotFoundError('task not found');
  await assertOperator(db, operatorId);
  const updated = await db
    .updateTable('tasks')
    .set({
      assigned_to: operatorId,
      status: sql`case when status = 'pending' then 'assigned' else status end`,
      overdue_notified_at: null,
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .where('status', 'in', OPEN_STATUSES)
    .returning('id')
    .executeTakeFirst();
  if (!updated) return explainMiss(db, actor, id, 'assigned');
  return (await findTask(db, actor, id)) as TaskView;
}

export type TaskTransition = { task: TaskView; releasedReservations: number };

/**
 * Completes or cancels an open task and releases its active reservations in the same statement
 * (one transaction, and safe under concurrency on every Postgres, PGlite's socket included).
 * An operator may only act on their own tasks; anyone else's is "not found".
 */
async function closeTask(db: Db, actor: Actor, id: string, to: 'completed' | 'cancelled'): Promise<TaskTransition> {
  if (!isUuid(id)) throw new NotFoundError('task not found');
  const scope: Expression<SqlBool> = seesAllTasks(actor)
    ? sql<boolean>`true`
    : sql<boolean>`assigned_to = ${actor.userId}`;
  const stamp =
    to === 'completed' ? sql`completed_at = now(), completed_by = ${actor.userId}` : sql`cancelled_at = now()`;
  const result = await sql<{ id: string; released: number }>`
    with closed as (
      update tasks set status = ${to}, ${stamp}, updated_at = now()
      where id = ${id} and status in ('pending', 'assigned', 'overdue') and ${scope}
      returning id
    ), released as (
      update inventory_reservations r set status = 'released', released_at = now()
      from closed where r.task_id = closed.id and r.status = 'active'
      returning r.id
    )
    select closed.id, (select count(*) from released)::int as released from closed`.execute(db);
  const row = result.rows[0];
  if (!row) return explainMiss(db, actor, id, to);
  return { task: (await findTask(db, actor, id)) as TaskView, releasedReservations: row.released };
}

export function completeTask(db: Db, actor: Actor, id: string): Promise<TaskTransition> {
  return closeTask(db, actor, id, 'completed');
}

export function cancelTask(db: Db, actor: Actor, id: string): Promise<TaskTransition> {
  return closeTask(db, actor, id, 'cancelled');
}

/** Holds stock of a product for an open task until expiresAt (default: now + RESERVATION_TTL). */
export async function createReservation(
  db: Db,
  actor: Actor,
  taskId: string,
  input: { productId: string; quantity: number; expiresAt?: Date },
  defaultTtlSeconds: number,
): Promise<ReservationView> {
  const task = await findTask(db, actor, taskId);
  if (!task) throw new NotFoundError('task not found');
  const product = await db
    .selectFrom('nomenclature')
    .select(['id', 'is_active'])
    .where('id', '=', input.productId)
    .executeTakeFirst();
  if (!product) throw new NotFoundError(`product ${input.productId} not found`);
  if (!product.is_active) throw new ConflictError(`product ${input.productId} is no longer active`);
  const expiresAt = input.expiresAt ?? new Date(Date.now() + defaultTtlSeconds * 1000);
  if (expiresAt.getTime() <= Date.now()) throw new ConflictError('expiresAt must be in the future');
  // The insert re-checks that the task is still open, in the same statement.
  const inserted = await sql<InventoryReservation>`
    insert into inventory_reservations (task_id, product_id, quantity, expires_at)
    select ${taskId}::uuid, ${input.productId}::uuid, ${input.quantity}::int, ${expiresAt}::timestamptz
    where exists (select 1 from tasks where id = ${taskId} and status in (${sql.join(OPEN_STATUSES)}))
    returning *`.execute(db);
  const row = inserted.rows[0];
  if (!row) throw new ConflictError(`task #${task.number} is ${task.status}; reservations need an open task`);
  return toReservationView(row);
}

export async function releaseReservation(db: Db, id: string): Promise<ReservationView> {
  if (!isUuid(id)) throw new NotFoundError('reservation not found');
  const row = await db
    .updateTable('inventory_reservations')
    .set({ status: 'released', released_at: sql`now()` })
    .where('id', '=', id)
    .where('status', '=', 'active')
    .returningAll()
    .executeTakeFirst();
  if (row) return toReservationView(row);
  const existing = await db
    .selectFrom('inventory_reservations')
    .select('status')
    .where('id', '=', id)
    .executeTakeFirst();
  if (!existing) throw new NotFoundError('reservation not found');
  throw new ConflictError(`reservation is already ${existing.status}`);
}
