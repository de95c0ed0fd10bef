import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { utf8 } from './crypto.ts';
import { InvalidTokenError, signAccessToken, type TokenSettings, verifyAccessToken } from './tokens.ts';

const settings: TokenSettings = {
  secret: utf8('a'.repeat(32)),
  issuer: 'opsbase',
  audience: 'opsbase-api',
  accessTtlSeconds: 900,
  clockToleranceSeconds: 5,
};
const claims = { userId: '7c9e6679-7425-40de-944b-e07fc1f90ae7', role: 'admin' as const };

/** A token signed by hand with our key, the fields a test varies given, the rest as we issue them. */
function handSigned(options: { role?: string; typ?: string; issuedAt?: number; expiresAt?: number | string } = {}) {
  return new SignJWT({ role: options.role ?? 'admin' })
    .setProtectedHeader({ alg: 'HS256', typ: options.typ ?? 'at+jwt' })
    .setSubject(claims.userId)
    .setIssuer('opsbase')
    .setAudience('opsbase-api')
    .setIssuedAt(options.issuedAt)
    .setExpirationTime(options.expiresAt ?? '5m')
    .sign(settings.secret);
}

async function rejection(token: string, s = settings) {
  const error = await verifyAccessToken(s, token).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(InvalidTokenError);
  return error as InvalidTokenError;
}

describe('access tokens', () => {
  it('round-trip the user id and role', async () => {
    expect(await verifyAccessToken(settings, await signAccessToken(settings, claims))).toEqual(claims);
    // The hand-signed tokens below differ from ours only where a test says so.
    expect(await verifyAccessToken(settings, await handSigned())).toEqual(claims);
  });

  it('refuse an expired token (past the clock tolerance) as expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await handSigned({ issuedAt: now - 3600, expiresAt: now - 60 });
    expect((await rejection(token)).reason).toBe('expired');
  });

  it('refuse alg none, another key, wrong iss, wrong aud and wrong typ', async () => {
    const unsigned = new UnsecuredJWT({ role: 'admin' })
      .setSubject(claims.userId)
      .setIssuer('opsbase')
      .setAudience('opsbase-api')
      .setExpirationTime('5m')
      .encode();
    await rejection(unsigned);
    await rejection(await signAccessToken({ ...settings, secret: utf8('b'.repeat(32)) }, claims));
    await rejection(await signAccessToken({ ...settings, issuer: 'someone-else' }, claims));
    await rejection(await signAccessToken({ ...settings, audience: 'another-api' }, claims));
    await rejection(await handSigned({ typ: 'JWT' }));
  });

  it('refuse a token whose role is not one of ours', async () => {
    await rejection(await handSigned({ role: 'superuser' }));
  });
});
