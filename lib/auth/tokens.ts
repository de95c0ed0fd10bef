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

export async function signAccessToken(settings: TokenSettings, claims: AccessClaims): Promise<string> {
  return new SignJWT({ role: claims.role })
    .setProtectedHeader({ alg: 'HS256', typ: ACCESS_TOKEN_TYP })
    .setSubject(claims.userId)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime(`${settings.accessTtlSeconds}s`)
    .sign(settings.secret);
}

/** HS256 only (alg pinned: "none" and every other algorithm are refused), iss/aud/typ checked. */
export async function verifyAccessToken(settings: TokenSettings, token: string): Promise<AccessClaims> {
  try {
    const { payload } = await jwtVerify(token, settings.secret, {
      algorithms: ['HS256'],
      issuer: settings.issuer,
      audience: settings.audience,
      typ: ACCESS_TOKEN_TYP,
      clockTolerance: settings.clockToleranceSeconds,
      requiredClaims: ['sub', 'exp', 'iat'],
    });
    if (typeof payload.sub !== 'string' || !isRole(payload.role)) {
      throw new InvalidTokenError('invalid', 'token claims are malformed');
    }
    return { userId: payload.sub, role: payload.role };
  } catch (error) {
    if (error instanceof InvalidTokenError) throw error;
    if (error instanceof errors.JWTExpired) throw new InvalidTokenError('expired', 'access token has expired');
    throw new InvalidTokenError('invalid', 'access token is invalid');
  }
}
