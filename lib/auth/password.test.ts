import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword, WORKERS_PBKDF2_MAX_ITERATIONS } from './password.ts';

const policy = { iterations: 1000 };

describe('PBKDF2 password hashes', () => {
  it('store algorithm, iterations and salt, and verify the right password only', async () => {
    const hash = await hashPassword('correct horse', policy);
    expect(hash).toMatch(/^pbkdf2-sha256\$1000\$[\w-]{22}\$[\w-]{43}$/);
    expect(await verifyPassword('correct horse', hash, policy)).toEqual({ ok: true, needsRehash: false });
    expect(await verifyPassword('correct horsE', hash, policy)).toEqual({ ok: false, needsRehash: false });
  });

  it('salt every hash differently', async () => {
    expect(await hashPassword('same', policy)).not.toBe(await hashPassword('same', policy));
  });

  it('ask for a rehash when the policy changed and the password was right', async () => {
    const old = await hashPassword('pw-pw-pw', { iterations: 500 });
    expect(await verifyPassword('pw-pw-pw', old, policy)).toEqual({ ok: true, needsRehash: true });
    expect(await verifyPassword('wrong', old, policy)).toEqual({ ok: false, needsRehash: false });
  });

  it('refuse malformed stored hashes without throwing', async () => {
    for (const stored of ['', 'plain', 'pbkdf2-sha256$abc$x$y', 'bcrypt$10$x$y', 'pbkdf2-sha256$0$AA$AA']) {
      expect((await verifyPassword('x', stored, policy)).ok).toBe(false);
    }
  });

  it('default within the Workers PBKDF2 cap', () => {
    expect(WORKERS_PBKDF2_MAX_ITERATIONS).toBe(100_000);
  });
});
