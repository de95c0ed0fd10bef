import { sql } from 'kysely';
import type { Db } from '../db/connection.ts';
import { ensureRequestLogPartitions } from './partitions.ts';

export type RequestLogEntry = {
  createdAt: Date;
  method: string;
  path: string;
  route: string | null;
  status: number;
  durationMs: number;
  userId: string | null;
  ip: string | null;
  requestId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
};

export type WriterStats = {
  backlog: number;
  dropped: number;
  written: number;
  lastFlushAt: string | null;
  lastError: string | null;
};

/** Upper bounds (ms) of the rollup's latency buckets; the last bucket is everything above. */
export const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500] as const;

const DAY_MS = 86_400_000;

/**
 * Request logs, written off the hot path. add() only appends to a bounded buffer; flush() writes
 * up to a batch in one set-based insert plus one rollup upsert. When the database is away the
 * buffer keeps the newest rows and counts what it had to drop; a failed flush never reaches a
 * request.
 */
export class RequestLogWriter {
  readonly #maxBatch: number;
  readonly #flushAt: number;
  readonly #maxBuffered: number;
  #buffer: RequestLogEntry[] = [];
  #dropped = 0;
  #written = 0;
  #lastFlushAt: Date | null = null;
  #lastError: string | null = null;
  #flushing: Promise<void> | undefined;

  /**
   * flushAt: rows that make a batch worth writing before the timer (500). maxBatch: most rows one
   * statement takes (5,000): a flush writes everything waiting, up to that, at once.
   */
  constructor(options: { flushAt?: number; maxBatch?: number; maxBuffered?: number } = {}) {
    this.#flushAt = options.flushAt ?? 500;
    this.#maxBatch = options.maxBatch ?? 5000;
    this.#maxBuffered = options.maxBuffered ?? 10_000;
  }

  add(entry: RequestLogEntry): void {
    this.#buffer.push(entry);
    this.#trim();
  }

  /** A full batch is waiting: worth flushing before the timer does. */
  get batchReady(): boolean {
    return this.#buffer.length >= this.#flushAt;
  }

  stats(): WriterStats {
    return {
      backlog: this.#buffer.length,
      dropped: this.#dropped,
      written: this.#written,
      lastFlushAt: this.#lastFlushAt?.toISOString() ?? null,
      lastError: this.#lastError,
    };
  }

  /** Writes one batch (one flush at a time). Rejects on failure, with the rows kept for the next. */
  flush(db: Db): Promise<void> {
    this.#flushing ??= this.#write(db).finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  /** Flushes until the buffer is empty or a flush fails (shutdown). */
  async drain(db: Db): Promise<void> {
    while (this.#buffer.length > 0) await this.flush(db);
  }

  async #write(db: Db): Promise<void> {
    if (this.#buffer.length === 0) return;
    const batch = this.#buffer.splice(0, this.#maxBatch);
    try {
      try {
        await insertBatch(db, batch);
      } catch (error) {
        // A row for a day without a partition (the daily job did not run): create it, retry once.
        if ((error as { code?: string }).code !== '23514') throw error;
        const days = batch.map((e) => e.createdAt.getTime());
        await ensureRequestLogPartitions(
          db,
          new Date(Math.min(...days)),
          Math.ceil((Math.max(...days) - Math.min(...days)) / DAY_MS) + 1,
        );
        await insertBatch(db, batch);
      }
      this.#written += batch.length;
      this.#lastFlushAt = new Date();
      this.#lastError = null;
    } catch (error) {
      this.#buffer = batch.concat(this.#buffer);
      this.#trim();
      this.#lastError = error instanceof Error ? error.message : String(error);
      throw error;
    }
  }

  #trim() {
    const excess = this.#buffer.length - this.#maxBuffered;
    if (excess > 0) {
      this.#buffer.splice(0, excess);
      this.#dropped += excess;
    }
  }
}

async function insertBatch(db: Db, batch: RequestLogEntry[]): Promise<void> {
  const rollup = new Map<
    string,
    {
      minute: Date;
      method: string;
      route: string;
      requests: number;
      errors: number;
      sum: number;
      max: number;
      buckets: number[];
    }
  >();
  for (const e of batch) {
    const minute = new Date(Math.floor(e.createdAt.getTime() / 60_000) * 60_000);
    const route = e.route ?? '(unmatched)';
    const key = `${minute.getTime()} ${e.method} ${route}`;
    let r = rollup.get(key);
    if (!r) {
      r = {
        minute,
        method: e.method,
        route,
        requests: 0,
        errors: 0,
        sum: 0,
        max: 0,
        buckets: Array(LATENCY_BUCKETS_MS.length + 1).fill(0),
      };
      rollup.set(key, r);
    }
    r.requests++;
    if (e.status >= 500) r.errors++;
    r.sum += e.durationMs;
    r.max = Math.max(r.max, e.durationMs);
    const bucket = LATENCY_BUCKETS_MS.findIndex((limit) => e.durationMs < limit);
    const slot = bucket === -1 ? LATENCY_BUCKETS_MS.length : bucket;
    r.buckets[slot] = (r.buckets[slot] ?? 0) + 1;
  }
  // One statement (a data-modifying CTE), so the rollup never counts rows that were not written
  // and no multi-statement transaction is held (pglite-socket mixes those up under concurrency).
  const column = <T>(pick: (e: RequestLogEntry) => T) => batch.map(pick);
  // UNNEST of one array per column: a fixed-size statement whatever the batch (bench: about twice
  // the rows/s of a multi-row VALUES insert).
  await db
    .with(
      'logged',
      () =>
        sql`(insert into request_logs (created_at, method, path, route, status, duration_ms, user_id, ip, request_id, error_code, error_message)
        select * from unnest(
          ${column((e) => e.createdAt.toISOString())}::timestamptz[], ${column((e) => e.method)}::text[],
          ${column((e) => e.path)}::text[], ${column((e) => e.route)}::text[], ${column((e) => e.status)}::smallint[],
          ${column((e) => e.durationMs)}::real[], ${column((e) => e.userId)}::uuid[], ${column((e) => e.ip)}::text[],
          ${column((e) => e.requestId)}::text[], ${column((e) => e.errorCode)}::text[], ${column((e) => e.errorMessage)}::text[])
        returning id)`,
    )
    .insertInto('request_log_minutes')
    .values(
      [...rollup.values()].map((r) => ({
        minute: r.minute,
        method: r.method,
        route: r.route,
        requests: r.requests,
        errors: r.errors,
        duration_sum_ms: r.sum,
        duration_max_ms: r.max,
        buckets: r.buckets,
      })),
    )
    .onConflict((oc) =>
      oc.columns(['minute', 'method', 'route']).doUpdateSet({
        requests: sql`request_log_minutes.requests + excluded.requests`,
        errors: sql`request_log_minutes.errors + excluded.errors`,
        duration_sum_ms: sql`request_log_minutes.duration_sum_ms + excluded.duration_sum_ms`,
        duration_max_ms: sql`greatest(request_log_minutes.duration_max_ms, excluded.duration_max_ms)`,
        buckets: sql`array(select a + b from unnest(request_log_minutes.buckets, excluded.buckets) as t(a, b))`,
      }),
    )
    .execute();
}
