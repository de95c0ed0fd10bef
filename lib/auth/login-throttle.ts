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

/** Whether a login attempt may proceed; when not, how many seconds until it may. */
export async function checkLoginAllowed(
  db: Db,
  ip: string,
  email: string,
  policy: LoginThrottlePolicy,
): Promise<{ allowed: true } | { allowed: false; retryAfterSeconds: number }> {
  const keys = keysFor(ip, email);
  const rows = await db
    .selectFrom('login_throttles')
    .select(['key', 'failures', 'window_started_at'])
    .where('key', 'in', [keys.ip, keys.account])
    .execute();
  const now = Date.now();
  let retryAfter = 0;
  for (const row of rows) {
    const windowEnds = row.window_started_at.getTime() + policy.windowSeconds * 1000;
    if (windowEnds <= now) continue;
    const max = row.key === keys.ip ? policy.maxFailuresPerIp : policy.maxFailuresPerAccount;
    if (row.failures >= max) retryAfter = Math.max(retryAfter, Math.ceil((windowEnds - now) / 1000));
  }
  return retryAfter > 0 ? { allowed: false, retryAfterSeconds: retryAfter } : { allowed: true };
}

/** Counts a failed attempt against both keys; a window that has passed starts over. */
export async function recordLoginFailure(
  db: Db,
  ip: string,
  email: string,
  policy: LoginThrottlePolicy,
): Promise<void> {
  const keys = keysFor(ip, email);
  const windowStart = sql<Date>`now() - make_interval(secs => ${policy.windowSeconds})`;
  await db
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
    .execute();
}

/** A successful login clears the (IP, email) count; the per-IP count stays. */
export async function clearLoginFailures(db: Db, ip: string, email: string): Promise<void> {
  await db.deleteFrom('login_throttles').where('key', '=', keysFor(ip, email).account).execute();
}
