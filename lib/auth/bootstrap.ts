import type { Db } from '../db/connection.ts';
import { countActiveAdmins, createUser, normalizeEmail } from '../users.ts';
import { randomBytes, toBase64Url } from './crypto.ts';
import { hashPassword, type PasswordPolicy } from './password.ts';

/** A password a person can type: 18 characters from a 128-bit random value. */
export function generatePassword(): string {
  return toBase64Url(randomBytes(16)).slice(0, 18);
}

/**
 * Makes sure someone can log in to a new instance: when there is no active md/admin, creates an
 * admin with the given email and password (or a generated password). Returns what was created,
 * so the caller can print it once.
 */
export async function ensureFirstAdmin(
  db: Db,
  policy: PasswordPolicy,
  input: { email: string; password?: string; name?: string },
): Promise<{ created: false } | { created: true; email: string; password: string; generated: boolean }> {
  if ((await countActiveAdmins(db)) > 0) return { created: false };
  const password = input.password || generatePassword();
  await createUser(db, {
    email: normalizeEmail(input.email),
    name: input.name ?? 'Administrator',
    role: 'admin',
    passwordHash: await hashPassword(password, policy),
  });
  return { created: true, email: normalizeEmail(input.email), password, generated: !input.password };
}
