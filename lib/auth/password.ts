import { constantTimeEqual, fromBase64Url, randomBytes, toBase64Url, utf8 } from './crypto.ts';

/** Workers refuse PBKDF2 above 100,000 iterations in production (wrangler dev does not enforce it). */
export const WORKERS_PBKDF2_MAX_ITERATIONS = 100_000;
export const DEFAULT_PBKDF2_ITERATIONS = 100_000;

const ALGORITHM = 'pbkdf2-sha256';
const SALT_BYTES = 16;
const KEY_BYTES = 32;

export type PasswordPolicy = { iterations: number };

/** `pbkdf2-sha256$<iterations>$<salt>$<hash>`, base64url: the parameters travel with the hash. */
export async function hashPassword(password: string, policy: PasswordPolicy): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, policy.iterations);
  return `${ALGORITHM}$${policy.iterations}$${toBase64Url(salt)}$${toBase64Url(key)}`;
}

export type PasswordCheck = { ok: boolean; needsRehash: boolean };

/**
 * Verifies in constant time. needsRehash is true when the stored parameters differ from the
 * policy, so a successful login can upgrade the hash.
 */
export async function verifyPassword(password: string, stored: string, policy: PasswordPolicy): Promise<PasswordCheck> {
  const parsed = parseHash(stored);
  if (!parsed) {
    // Unknown format: still spend the time a real check would, so timing tells nothing.
    await derive(password, randomBytes(SALT_BYTES), policy.iterations);
    return { ok: false, needsRehash: false };
  }
  const key = await derive(password, parsed.salt, parsed.iterations);
  const ok = constantTimeEqual(key, parsed.key);
  return { ok, needsRehash: ok && parsed.iterations !== policy.iterations };
}

/** A hash of a random password, for comparing against when the account does not exist. */
export async function decoyHash(policy: PasswordPolicy): Promise<string> {
  return hashPassword(toBase64Url(randomBytes(16)), policy);
}

function parseHash(stored: string): { iterations: number; salt: Uint8Array<ArrayBuffer>; key: Uint8Array } | null {
  const [algorithm, iterations, salt, key] = stored.split('$');
  if (algorithm !== ALGORITHM || !iterations || !salt || !key) return null;
  const n = Number(iterations);
  if (!Number.isSafeInteger(n) || n < 1 || n > 10_000_000) return null;
  try {
    return { iterations: n, salt: fromBase64Url(salt), key: fromBase64Url(key) };
  } catch {
    return null;
  }
}

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array> {
  const material = await crypto.subtle.importKey('raw', utf8(password), 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    material,
    KEY_BYTES * 8,
  );
  return new Uint8Array(bits);
}
