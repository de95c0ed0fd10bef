import { sql } from 'kysely';
import type { Db } from '../db/connection.ts';

export type LoginThrottlePolicy = {
  /** Failures allowed per (client IP, email) in a window; the next attempt is refused. */
  maxFailuresPerAccount: number;
  /** Failures allowed per client IP across all emails in a window. */
  maxFailuresPerIp: number;
  windowSeconds: number;
};

export const DEFAULT_LOGIN_THROTTLE: LoginThrottlePolicy = {
  maxFailuresPerAccount: 5,
  maxFailuresPerIp: 50,
  windowSeconds: 15 * 60,
};

const keysFor = (ip: string, email: string) => ({ ip: `ip:${ip}`, account: `ip-email:${ip}:${email}` });

/**
 * Counts a login attempt as a failure before the password is checked, and refuses it when that
 * takes the (IP, email) or the IP count past its limit. Counting first, in one upsert, is what
 * holds under concurrency: attempts on every instance take turns on the rows, so a burst gets no
 * more than the limit through, where a read-then-count let every attempt of a burst pass the read.
 * A refused attempt is taken back; a window that has passed starts over.
 */
export async function countLoginAttempt(
  db: Db,
  ip: string,
  email: string,
  policy: LoginThrottlePolicy,
): Promise<{ allowed: true } | { allowed: false; retryAfterSeconds: number }> {
  const keys = keysFor(ip, email);
  const windowStart = sql<Date>`now() - make_interval(secs => ${policy.windowSeconds})`;
  const counts = await db
    .insertInto('login_throttles')
    .values([
      { key: keys.ip, failures: 1, window_started_at: sql`now()` },
      { key: keys.account, failures: 1, window_started_at: sql`now()` },
    ])
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        failures: sql`case when login_throttles.window_started_at <= ${windowStart} then 1 else login_throttles.failures + 1 end`,
        window_started_at: sql`case when login_throttles.window_started_at <= ${windowStart} then now() else login_throttles.window_started_at end`,
      }),
    )
    .returning(['key', 'failures', 'window_started_at'])
    .execute();
  const now = Date.now();
  let retryAfter = 0;
  for (const row of counts) {
    const max = row.key === keys.ip ? policy.maxFailuresPerIp : policy.maxFailuresPerAccount;
    if (row.failures <= max) continue;
    const windowEnds = row.window_started_at.getTime() + policy.windowSeconds * 1000;
    retryAfter = Math.max(retryAfter, 1, Math.ceil((windowEnds - now) / 1000));
  }
  if (retryAfter === 0) return { allowed: true };
  await takeBackAttempt(db, [keys.ip, keys.account]);
  return { allowed: false, retryAfterSeconds: retryAfter };
}

/**
 * A successful login: the attempt countLoginAttempt counted is taken back from the IP count, and
 * the (IP, email) count is cleared.
 */
export async function recordLoginSuccess(db: Db, ip: string, email: string): Promise<void> {
  const keys = keysFor(ip, email);
  await db.deleteFrom('login_throttles').where('key', '=', keys.account).execute();
  await takeBackAttempt(db, [keys.ip]);
}

async function takeBackAttempt(db: Db, keys: string[]): Promise<void> {
  // A statement per key: one that locked both rows could deadlock with a concurrent upsert that
  // takes them in the other order.
  for (const key of keys) {
    await db
      .updateTable('login_throttles')
      .set({ failures: sql`greatest(failures - 1, 0)` })
      .where('key', '=', key)
      .execute();
  }
}
