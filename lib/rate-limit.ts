import { sql } from 'kysely';
import type { Db } from './db/connection.ts';

export type RateLimitState = { limit: number; remaining: number; resetSeconds: number; exceeded: boolean };

type Counter = {
  windowStart: number;
  /** The window's total across every instance, as of this instance's last sync. */
  shared: number;
  /** Hits being written by the sync in progress. */
  inFlight: number;
  /** Hits not yet written. */
  pending: number;
};

export type RateLimiterOptions = {
  limit: number;
  windowSeconds: number;
  /** Sync with Postgres at least this often while there are hits to write. */
  syncIntervalMs?: number;
  /** ...or as soon as this many hits wait to be written. */
  maxPending?: number;
  /** Bound on tracked keys (clients), so a flood of addresses cannot grow memory without end. */
  maxKeys?: number;
};

/**
 * Fixed-window rate limit shared through Postgres without a database write per request: each
 * instance counts in memory and decides at once, and a sync (about once a second) adds its counts
 * to the window's row in one set-based upsert and learns the total every instance has written.
 * Across N instances a client can overshoot by what the others counted since their last sync;
 * on one instance the count is exact.
 */
export class RateLimiter {
  readonly limit: number;
  readonly windowSeconds: number;
  readonly #syncIntervalMs: number;
  readonly #maxPending: number;
  readonly #maxKeys: number;
  readonly #counters = new Map<string, Counter>();
  #pendingTotal = 0;
  #lastSync = 0;
  #syncing: Promise<void> | undefined;

  constructor(options: RateLimiterOptions) {
    this.limit = options.limit;
    this.windowSeconds = options.windowSeconds;
    this.#syncIntervalMs = options.syncIntervalMs ?? 1000;
    this.#maxPending = options.maxPending ?? 500;
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  /** Counts one request for the key and says whether it is within the limit. Synchronous: no I/O. */
  hit(key: string, now = Date.now()): RateLimitState {
    const windowMs = this.windowSeconds * 1000;
    const windowStart = Math.floor(now / windowMs) * windowMs;
    let counter = this.#counters.get(key);
    if (!counter || counter.windowStart !== windowStart) {
      if (counter) this.#pendingTotal -= counter.pending; // the old window is over; its count no longer matters
      if (!counter && this.#counters.size >= this.#maxKeys) this.#evict(windowStart);
      counter = { windowStart, shared: 0, inFlight: 0, pending: 0 };
      this.#counters.set(key, counter);
    }
    counter.pending++;
    this.#pendingTotal++;
    const count = counter.shared + counter.inFlight + counter.pending;
    return {
      limit: this.limit,
      remaining: Math.max(0, this.limit - count),
      resetSeconds: Math.max(1, Math.ceil((windowStart + windowMs - now) / 1000)),
      exceeded: count > this.limit,
    };
  }

  /** Whether a sync should be started now. */
  syncDue(now = Date.now()): boolean {
    if (this.#syncing || this.#pendingTotal === 0) return false;
    return this.#pendingTotal >= this.#maxPending || now - this.#lastSync >= this.#syncIntervalMs;
  }

  /** Writes pending counts and refreshes the shared totals. On failure the counts stay pending. */
  sync(db: Db, now = Date.now()): Promise<void> {
    this.#syncing ??= this.#write(db, now).finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  async #write(db: Db, now: number): Promise<void> {
    this.#lastSync = now;
    const batch: { key: string; counter: Counter; count: number }[] = [];
    for (const [key, counter] of this.#counters) {
      if (counter.pending === 0) continue;
      counter.inFlight = counter.pending;
      counter.pending = 0;
      batch.push({ key, counter, count: counter.inFlight });
    }
    this.#pendingTotal = 0;
    if (batch.length === 0) return;
    try {
      const rows = await db
        .insertInto('rate_limit_counters')
        .values(batch.map((b) => ({ key: b.key, window_start: new Date(b.counter.windowStart), count: b.count })))
        .onConflict((oc) =>
          oc.columns(['key', 'window_start']).doUpdateSet({ count: sql`rate_limit_counters.count + excluded.count` }),
        )
        .returning(['key', 'window_start', 'count'])
        .execute();
      const totals = new Map(rows.map((r) => [`${r.key}\u0000${r.window_start.getTime()}`, r.count]));
      for (const b of batch) {
        const total = totals.get(`${b.key}\u0000${b.counter.windowStart}`);
        if (total !== undefined) b.counter.shared = total;
        b.counter.inFlight = 0;
      }
    } catch (error) {
      for (const b of batch) {
        b.counter.pending += b.counter.inFlight;
        this.#pendingTotal += b.counter.inFlight;
        b.counter.inFlight = 0;
      }
      throw error;
    } finally {
      this.#evict(Math.floor(now / (this.windowSeconds * 1000)) * this.windowSeconds * 1000);
    }
  }

  /** Drops counters of windows that have ended (and, at the key bound, the oldest idle ones). */
  #evict(currentWindowStart: number) {
    for (const [key, counter] of this.#counters) {
      if (counter.windowStart < currentWindowStart && counter.pending === 0 && counter.inFlight === 0) {
        this.#counters.delete(key);
      }
    }
    while (this.#counters.size >= this.#maxKeys) {
      const oldest = this.#counters.keys().next().value;
      if (oldest === undefined) break;
      const counter = this.#counters.get(oldest);
      if (counter) this.#pendingTotal -= counter.pending;
      this.#counters.delete(oldest);
    }
  }
}

/** The limiter for THROTTLE_LIMIT / THROTTLE_TTL, or null when the limit is off (0). */
export function rateLimiterFor(config: { rateLimit: { limit: number; windowSeconds: number } }): RateLimiter | null {
  return config.rateLimit.limit > 0 ? new RateLimiter(config.rateLimit) : null;
}

/** Deletes counters of windows that have ended (run by the cleanup job). */
export async function deleteExpiredRateLimitWindows(db: Db, olderThan: Date): Promise<number> {
  const result = await db.deleteFrom('rate_limit_counters').where('window_start', '<', olderThan).executeTakeFirst();
  return Number(result.numDeletedRows);
}
