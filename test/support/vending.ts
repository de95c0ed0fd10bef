import type { Db } from '../../lib/db/connection.ts';
import type { Role, TaskStatus, TaskType } from '../../schema/database.ts';
import { seedUser } from './users.ts';

let counter = 0;

/** A location and a machine at it, straight into the database. */
export async function seedMachine(
  db: Db,
  overrides: { code?: string; status?: 'active' | 'maintenance' | 'offline' | 'retired' } = {},
) {
  counter++;
  const location = await db
    .insertInto('locations')
    .values({ code: `LOC-T${counter}-${Date.now()}`, name: `Test location ${counter}` })
    .returningAll()
    .executeTakeFirstOrThrow();
  return db
    .insertInto('machines')
    .values({
      code: overrides.code ?? `M-T${counter}-${Date.now()}`,
      name: `Test machine ${counter}`,
      location_id: location.id,
      ...(overrides.status ? { status: overrides.status } : {}),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function seedProduct(db: Db, overrides: { isActive?: boolean } = {}) {
  counter++;
  return db
    .insertInto('nomenclature')
    .values({
      sku: `SKU-T${counter}-${Date.now()}`,
      name: `Product ${counter}`,
      price: '1.50',
      is_active: overrides.isActive ?? true,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** A task row as it would be after the API (and time) had its way with it. */
export async function seedTask(
  db: Db,
  input: {
    machineId: string;
    assignedTo?: string | null;
    status?: TaskStatus;
    type?: TaskType;
    dueAt?: Date;
    completedAt?: Date | null;
    overdueNotifiedAt?: Date | null;
  },
) {
  return db
    .insertInto('tasks')
    .values({
      machine_id: input.machineId,
      type: input.type ?? 'refill',
      status: input.status ?? (input.assignedTo ? 'assigned' : 'pending'),
      assigned_to: input.assignedTo ?? null,
      due_at: input.dueAt ?? new Date(Date.now() + 3_600_000),
      completed_at: input.completedAt ?? null,
      overdue_notified_at: input.overdueNotifiedAt ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function seedReservation(
  db: Db,
  input: { taskId: string; productId: string; expiresAt?: Date; status?: 'active' | 'released' | 'expired' },
) {
  return db
    .insertInto('inventory_reservations')
    .values({
      task_id: input.taskId,
      product_id: input.productId,
      quantity: 3,
      expires_at: input.expiresAt ?? new Date(Date.now() + 3_600_000),
      ...(input.status ? { status: input.status } : {}),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Users of the given roles, each with a password to log in with. */
export async function seedUsers<const R extends readonly Role[]>(db: Db, roles: R) {
  const users = [];
  for (const role of roles) users.push(await seedUser(db, role));
  return users as { [K in keyof R]: Awaited<ReturnType<typeof seedUser>> };
}

type Requester = { request: (path: string, init?: RequestInit) => Response | Promise<Response> };

/** JSON calls with a bearer token: status and parsed body. */
export function apiAs(app: Requester, token: string) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: test bodies are read field by field
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : null) as any };
  };
  return {
    get: (path: string) => call('GET', path),
    post: (path: string, body?: unknown) => call('POST', path, body),
    patch: (path: string, body: unknown) => call('PATCH', path, body),
  };
}
