import type { User } from '../../schema/database.ts';
import type { Db } from '../db/connection.ts';
import { findUserByEmail, findUserById, normalizeEmail, type PublicUser, recordLogin, toPublicUser } from '../users.ts';
import { countLoginAttempt, type LoginThrottlePolicy, recordLoginSuccess } from './login-throttle.ts';
import { decoyHash, hashPassword, type PasswordPolicy, verifyPassword } from './password.ts';
import {
  checkRefreshToken,
  issueRefreshToken,
  RefreshTokenError,
  revokeAllForUser,
  revokeFamilyOf,
  rotateRefreshToken,
} from './refresh-tokens.ts';
import { signAccessToken, type TokenSettings } from './tokens.ts';

export type AuthPolicy = {
  tokens: TokenSettings;
  refreshTtlSeconds: number;
  password: PasswordPolicy;
  throttle: LoginThrottlePolicy;
};

export type Session = {
  accessToken: string;
  refreshToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  user: PublicUser;
};

export class LoginError extends Error {
  override name = 'LoginError';
  readonly reason: 'invalid_credentials' | 'throttled';
  readonly retryAfterSeconds: number | undefined;
  constructor(reason: LoginError['reason'], retryAfterSeconds?: number) {
    super(reason === 'throttled' ? 'too many failed logins; try again later' : 'email or password is incorrect');
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

let decoy: { iterations: number; hash: Promise<string> } | undefined;
function decoyFor(policy: PasswordPolicy): Promise<string> {
  if (decoy?.iterations !== policy.iterations) decoy = { iterations: policy.iterations, hash: decoyHash(policy) };
  return decoy.hash;
}

/**
 * Email + password -> a session. Unknown email, wrong password and deactivated account all look
 * the same from outside (same message, same PBKDF2 cost); failures count toward throttling.
 */
export async function login(
  db: Db,
  policy: AuthPolicy,
  input: { email: string; password: string; ip: string },
): Promise<Session> {
  const email = normalizeEmail(input.email);
  // Counted as a failure up front (see countLoginAttempt); a success takes it back.
  const gate = await countLoginAttempt(db, input.ip, email, policy.throttle);
  if (!gate.allowed) throw new LoginError('throttled', gate.retryAfterSeconds);

  const user = await findUserByEmail(db, email);
  const check = await verifyPassword(
    input.password,
    user?.password_hash ?? (await decoyFor(policy.password)),
    policy.password,
  );
  if (!user || !check.ok || !user.is_active) throw new LoginError('invalid_credentials');
  await recordLoginSuccess(db, input.ip, email);
  const rehash = check.needsRehash ? await hashPassword(input.password, policy.password) : undefined;
  await recordLogin(db, user.id, rehash);
  return startSession(db, policy, user);
}

async function startSession(db: Db, policy: AuthPolicy, user: User, familyId?: string): Promise<Session> {
  const refresh = await issueRefreshToken(db, { userId: user.id, familyId, ttlSeconds: policy.refreshTtlSeconds });
  return sessionFor(policy, user, refresh.token);
}

async function sessionFor(policy: AuthPolicy, user: User, refreshToken: string): Promise<Session> {
  const accessToken = await signAccessToken(policy.tokens, { userId: user.id, role: user.role });
  return { accessToken, refreshToken, expiresIn: policy.tokens.accessTtlSeconds, user: toPublicUser(user) };
}

/** Rotation: the presented refresh token is spent and a new pair is issued in the same family. */
export async function refreshSession(db: Db, policy: AuthPolicy, refreshToken: string): Promise<Session> {
  const { userId, issued } = await rotateRefreshToken(db, refreshToken, policy.refreshTtlSeconds);
  const user = await findUserById(db, userId);
  if (!user?.is_active) {
    await revokeAllForUser(db, userId);
    throw new RefreshTokenError('revoked');
  }
  return sessionFor(policy, user, issued.token);
}

/**
 * A new access token for a live refresh token, without rotating it: for a client that holds the
 * refresh token where several requests may present it at once (the dashboard's cookie), so
 * rotation's reuse detection would end the session on a race. The session still ends when the
 * refresh token expires or its family is revoked (logout, password change, deactivation).
 */
export async function resumeSession(
  db: Db,
  policy: AuthPolicy,
  refreshToken: string,
): Promise<{ accessToken: string; expiresIn: number; refreshExpiresAt: Date; user: PublicUser }> {
  const { userId, expiresAt } = await checkRefreshToken(db, refreshToken);
  const user = await findUserById(db, userId);
  if (!user?.is_active) {
    await revokeAllForUser(db, userId);
    throw new RefreshTokenError('revoked');
  }
  const accessToken = await signAccessToken(policy.tokens, { userId: user.id, role: user.role });
  return {
    accessToken,
    expiresIn: policy.tokens.accessTtlSeconds,
    refreshExpiresAt: expiresAt,
    user: toPublicUser(user),
  };
}

/** Revokes the refresh token's whole family. Idempotent. */
export async function logout(db: Db, refreshToken: string): Promise<void> {
  await revokeFamilyOf(db, refreshToken);
}
