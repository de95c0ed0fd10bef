import { sql } from 'kysely';
import type { Db } from './db/connection.ts';

export type RateLimitState = { limit: number; remaining: number; resetSeconds: number; exceeded: boolean };

/**
 * Fixed-window counter in Postgres (one upsert per request), so the limit holds across replicas
 * and Worker isolates.
 */
export async function hitRateLimit(db: Db, key: string, windowSeconds: number, limit: number): Promise<RateLimitState> {
  const windowMs = windowSeconds * 1000;
  const now = Date.now();
  const windowStart = new Date(Math.floor(now / windowMs) * windowMs);
  const row = await db
    .insertInto('rate_limit_counters')
    .values({ key, window_start: windowStart, count: 1 })
    .onConflict((oc) => oc.columns(['key', 'window_start']).doUpdateSet({ count: sql`rate_limit_counters.count + 1` }))
    .returning('count')
    .executeTakeFirstOrThrow();
  const resetSeconds = Math.max(1, Math.ceil((windowStart.getTime() + windowMs - now) / 1000));
  return { limit, remaining: Math.max(0, limit - row.count), resetSeconds, exceeded: row.count > limit };
}

/** Deletes counters of windows that have ended (run by the cleanup job). */
export async function deleteExpiredRateLimitWindows(db: Db, olderThan: Date): Promise<number> {
  const result = await db.deleteFrom('rate_limit_counters').where('window_start', '<', olderThan).executeTakeFirst();
  return Number(result.numDeletedRows);
}
