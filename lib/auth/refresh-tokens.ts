import { sql } from 'kysely';
import type { Db } from '../db/connection.ts';
import { randomBytes, sha256, toBase64Url } from './crypto.ts';

export type IssuedRefreshToken = { token: string; id: string; familyId: string; expiresAt: Date };

export class RefreshTokenError extends Error {
  override name = 'RefreshTokenError';
  /** reused: a rotated-out token came back, so its whole family was revoked. */
  readonly reason: 'invalid' | 'expired' | 'revoked' | 'reused';
  constructor(reason: RefreshTokenError['reason']) {
    super(`refresh token ${reason}`);
    this.reason = reason;
  }
}

async function hashToken(token: string): Promise<string> {
  return toBase64Url(await sha256(token));
}

/** A new random refresh token; only its hash is stored. A new login starts a new family. */
export async function issueRefreshToken(
  db: Db,
  input: { userId: string; familyId?: string; ttlSeconds: number },
): Promise<IssuedRefreshToken> {
  const token = toBase64Url(randomBytes(32));
  const expiresAt = new Date(Date.now() + input.ttlSeconds * 1000);
  const row = await db
    .insertInto('refresh_tokens')
    .values({
      user_id: input.userId,
      family_id: input.familyId ?? crypto.randomUUID(),
      token_hash: await hashToken(token),
      expires_at: expiresAt,
    })
    .returning(['id', 'family_id'])
    .executeTakeFirstOrThrow();
  return { token, id: row.id, familyId: row.family_id, expiresAt };
}

/**
 * Trades a refresh token for a new one in the same family. Presenting a token that was already
 * rotated out means it leaked (or a client replayed it): the whole family is revoked.
 */
export async function rotateRefreshToken(
  db: Db,
  presented: string,
  ttlSeconds: number,
): Promise<{ userId: string; issued: IssuedRefreshToken }> {
  const tokenHash = await hashToken(presented);
  const outcome = await db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('refresh_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .forUpdate()
      .executeTakeFirst();
    if (!current) return { error: 'invalid' as const };
    if (current.revoked_at) {
      if (current.replaced_by) {
        await revokeFamilyIn(trx, current.family_id);
        return { error: 'reused' as const };
      }
      return { error: 'revoked' as const };
    }
    if (current.expires_at.getTime() <= Date.now()) return { error: 'expired' as const };
    const issued = await issueRefreshToken(trx, { userId: current.user_id, familyId: current.family_id, ttlSeconds });
    await trx
      .updateTable('refresh_tokens')
      .set({ revoked_at: sql`now()`, replaced_by: issued.id })
      .where('id', '=', current.id)
      .execute();
    return { error: null, userId: current.user_id, issued };
  });
  // Thrown after the commit, so a reuse's family revocation is kept.
  if (outcome.error !== null) throw new RefreshTokenError(outcome.error);
  return { userId: outcome.userId, issued: outcome.issued };
}

/**
 * Checks a refresh token without spending it (the dashboard's session cookie): it must exist, be
 * unexpired and unrevoked. A rotated-out token coming back is treated as in rotateRefreshToken:
 * its family is revoked.
 */
export async function checkRefreshToken(
  db: Db,
  presented: string,
): Promise<{ userId: string; familyId: string; expiresAt: Date }> {
  const row = await db
    .selectFrom('refresh_tokens')
    .select(['user_id', 'family_id', 'expires_at', 'revoked_at', 'replaced_by'])
    .where('token_hash', '=', await hashToken(presented))
    .executeTakeFirst();
  if (!row) throw new RefreshTokenError('invalid');
  if (row.revoked_at) {
    if (!row.replaced_by) throw new RefreshTokenError('revoked');
    await revokeFamilyIn(db, row.family_id);
    throw new RefreshTokenError('reused');
  }
  if (row.expires_at.getTime() <= Date.now()) throw new RefreshTokenError('expired');
  return { userId: row.user_id, familyId: row.family_id, expiresAt: row.expires_at };
}

/** Logout: revokes the family of the presented token. Unknown tokens are ignored (logout is idempotent). */
export async function revokeFamilyOf(db: Db, presented: string): Promise<{ userId: string } | null> {
  const row = await db
    .selectFrom('refresh_tokens')
    .select(['family_id', 'user_id'])
    .where('token_hash', '=', await hashToken(presented))
    .executeTakeFirst();
  if (!row) return null;
  await revokeFamilyIn(db, row.family_id);
  return { userId: row.user_id };
}

/** Every session of a user ends (deactivation, password reset). */
export async function revokeAllForUser(db: Db, userId: string): Promise<void> {
  await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: sql`now()` })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute();
}

async function revokeFamilyIn(db: Db, familyId: string): Promise<void> {
  await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: sql`now()` })
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .execute();
}
