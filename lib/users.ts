import { sql } from 'kysely';
import type { Role, User } from '../schema/database.ts';
import type { Db } from './db/connection.ts';
import { ConflictError, NotFoundError } from './errors.ts';
import { cursorTimestamp, decodeCursor, InvalidCursorError, olderThanCursor, type Page, pageOf } from './pagination.ts';

/** A user as the API shows it: never the password hash. */
export type PublicUser = {
  id: string;
  email: string;
  name: string;
  role: Role;
  isActive: boolean;
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
};

export function toPublicUser(user: User): PublicUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    isActive: user.is_active,
    createdAt: user.created_at.toISOString(),
    updatedAt: user.updated_at.toISOString(),
    lastLoginAt: user.last_login_at?.toISOString() ?? null,
  };
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function findUserById(db: Db, id: string): Promise<User | undefined> {
  if (!UUID.test(id)) return undefined;
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findUserByEmail(db: Db, email: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('email', '=', normalizeEmail(email)).executeTakeFirst();
}

export async function createUser(
  db: Db,
  input: { email: string; name: string; role: Role; passwordHash: string },
): Promise<User> {
  try {
    return await db
      .insertInto('users')
      .values({
        email: normalizeEmail(input.email),
        name: input.name.trim(),
        role: input.role,
        password_hash: input.passwordHash,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (error) {
    if ((error as { code?: string }).code === '23505') {
      throw new ConflictError(`a user with email ${normalizeEmail(input.email)} already exists`);
    }
    throw error;
  }
}

/** Newest first, keyset on (created_at, id). */
export async function listUsers(db: Db, options: { limit: number; cursor?: string }): Promise<Page<PublicUser>> {
  let query = db
    .selectFrom('users')
    .selectAll()
    .select(cursorTimestamp('created_at').as('cursor_at'))
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(options.limit + 1);
  if (options.cursor) {
    const [at, id] = decodeCursor(options.cursor, ['timestamp', 'string'] as const);
    if (!UUID.test(id)) throw new InvalidCursorError('cursor is not one this API issued');
    query = query.where(olderThanCursor('created_at', 'id', at, id));
  }
  return pageOf(await query.execute(), options.limit, toPublicUser, (u) => [u.cursor_at, u.id]);
}

export async function updateUser(
  db: Db,
  id: string,
  patch: { name?: string; role?: Role; isActive?: boolean },
): Promise<User> {
  const user = await findUserById(db, id);
  if (!user) throw new NotFoundError('user not found');
  return db
    .updateTable('users')
    .set({
      ...(patch.name === undefined ? {} : { name: patch.name.trim() }),
      ...(patch.role === undefined ? {} : { role: patch.role }),
      ...(patch.isActive === undefined ? {} : { is_active: patch.isActive }),
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function setPasswordHash(db: Db, id: string, passwordHash: string): Promise<void> {
  const result = await db
    .updateTable('users')
    .set({ password_hash: passwordHash, password_changed_at: sql`now()`, updated_at: sql`now()` })
    .where('id', '=', id)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) throw new NotFoundError('user not found');
}

export async function recordLogin(db: Db, id: string, rehashedPassword?: string): Promise<void> {
  await db
    .updateTable('users')
    .set({ last_login_at: sql`now()`, ...(rehashedPassword ? { password_hash: rehashedPassword } : {}) })
    .where('id', '=', id)
    .execute();
}

export async function countUsers(db: Db): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return row.n;
}

/** Active users who can reach the admin area (md, admin). */
export async function countActiveAdmins(db: Db): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('is_active', '=', true)
    .where('role', 'in', ['md', 'admin'])
    .executeTakeFirstOrThrow();
  return row.n;
}

/** Names and emails of the given users (for showing who made a request), by id. */
export async function userLabels(
  db: Db,
  ids: readonly string[],
): Promise<Map<string, { name: string; email: string }>> {
  const wanted = [...new Set(ids)].filter((id) => UUID.test(id));
  if (wanted.length === 0) return new Map();
  const rows = await db.selectFrom('users').select(['id', 'name', 'email']).where('id', 'in', wanted).execute();
  return new Map(rows.map((r) => [r.id, { name: r.name, email: r.email }]));
}
