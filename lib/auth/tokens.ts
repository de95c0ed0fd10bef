import { errors, jwtVerify, SignJWT } from 'jose';
import type { Role } from '../../schema/database.ts';
import { isRole } from './permissions.ts';

export type TokenSettings = {
  secret: Uint8Array;
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  /** Seconds of clock skew tolerated on exp/nbf/iat. */
  clockToleranceSeconds: number;
};

/** RFC 9068's media type for access tokens: a refresh token or an ID token cannot pass as one. */
const ACCESS_TOKEN_TYP = 'at+jwt';

export type AccessClaims = { userId: string; role: Role };

export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
  readonly reason: 'expired' | 'invalid';
  constructor(reason: 'expired' | 'invalid', message: string) {
    super(message);
    this.reason = reason;
  }
}

// Importing the raw secret as an HMAC key on every call is most of a verification's cost: do it once.
const keys = new WeakMap<Uint8Array, Promise<CryptoKey>>();
function hmacKey(secret: Uint8Array): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', secret as Uint8Array<ArrayBuffer>, { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
      'verify',
    ]);
    keys.set(secret, key);
  }
  return key;
}

/**
 * Tokens already verified, by their exact text, until their own expiry: a client sends the same
 * token for minutes, and an identical string verifies identically. Bounded; evicts the oldest.
 */
const verified = new Map<string, { claims: AccessClaims; expiresAtMs: number; settings: TokenSettings }>();
const VERIFIED_MAX = 10_000;

export async function signAccessToken(settings: TokenSettings, claims: AccessClaims): Promise<string> {
  return new SignJWT({ role: claims.role })
    .setProtectedHeader({ alg: 'HS256', typ: ACCESS_TOKEN_TYP })
    .setSubject(claims.userId)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime(`${settings.accessTtlSeconds}s`)
    .sign(await hmacKey(settings.secret));
}

/** HS256 only (alg pinned: "none" and every other algorithm are refused), iss/aud/typ checked. */
export async function verifyAccessToken(settings: TokenSettings, token: string): Promise<AccessClaims> {
  const known = verified.get(token);
  if (known && known.settings === settings) {
    if (Date.now() < known.expiresAtMs + settings.clockToleranceSeconds * 1000) return known.claims;
    verified.delete(token);
    throw new InvalidTokenError('expired', 'access token has expired');
  }
  try {
    const { payload } = await jwtVerify(token, await hmacKey(settings.secret), {
      algorithms: ['HS256'],
      issuer: settings.issuer,
      audience: settings.audience,
      typ: ACCESS_TOKEN_TYP,
      clockTolerance: settings.clockToleranceSeconds,
      requiredClaims: ['sub', 'exp', 'iat'],
    });
    if (typeof payload.sub !== 'string' || !isRole(payload.role) || typeof payload.exp !== 'number') {
      throw new InvalidTokenError('invalid', 'token claims are malformed');
    }
    const claims: AccessClaims = { userId: payload.sub, role: payload.role };
    if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value as string);
    verified.set(token, { claims, expiresAtMs: payload.exp * 1000, settings });
    return claims;
  } catch (error) {
    if (error instanceof InvalidTokenError) throw error;
    if (error instanceof errors.JWTExpired) throw new InvalidTokenError('expired', 'access token has expired');
    throw new InvalidTokenError('invalid', 'access token is invalid');
  }
}
