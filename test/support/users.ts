import { hashPassword } from '../../lib/auth/password.ts';
import type { Db } from '../../lib/db/connection.ts';
import { createUser } from '../../lib/users.ts';
import type { Role, User } from '../../schema/database.ts';

let counter = 0;

/** A user straight into the database (what `opsbase user create` does), with the test PBKDF2 cost. */
export async function seedUser(
  db: Db,
  role: Role,
  overrides: { email?: string; password?: string; name?: string } = {},
): Promise<User & { password: string }> {
  counter++;
  const password = overrides.password ?? `password-${role}-${counter}`;
  const user = await createUser(db, {
    email: overrides.email ?? `${role}-${counter}-${Date.now()}@example.test`,
    name: overrides.name ?? `Test ${role} ${counter}`,
    role,
    passwordHash: await hashPassword(password, { iterations: 1000 }),
  });
  return { ...user, password };
}

/** POSTs JSON through app.request and returns status + parsed body. */
export async function postJson(
  app: { request: (path: string, init?: RequestInit) => Response | Promise<Response> },
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const res = await app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

/** Logs `user` in through the app and returns its access token (a failed login fails the test setup). */
export async function loginToken(
  app: { request: (path: string, init?: RequestInit) => Response | Promise<Response> },
  user: { email: string; password: string },
): Promise<string> {
  const res = await postJson(app, '/api/auth/login', { email: user.email, password: user.password });
  if (res.status !== 200) throw new Error(`login of ${user.email} answered ${res.status}`);
  return res.body.accessToken as string;
}
