import { once } from 'node:events';
import { sql } from 'kysely';
import type pg from 'pg';
import { type Db, destroyConnection, isPglite, poolOf, queryTimeoutOf } from '../db/connection.ts';
import { detectRuntime } from '../runtime.ts';
import { ensureRequestLogPartitions } from './partitions.ts';
import { COPY_HEADER, COPY_LOGS, COPY_TRAILER, copyBinary, storableUserId } from './request-log-copy.ts';

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

/** Up to this many distinct messages are kept per hourly error group. */
export const ERROR_SAMPLES = 5;

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * Request logs, written off the hot path. add() only appends to a bounded buffer; flush() writes
 * up to a batch in one transaction: the set-based insert (COPY on Node against a real server) and
 * the rollups' upserts. When the database is away the buffer keeps the newest rows and counts
 * what it had to drop; a failed flush never reaches a request.
 */
export class RequestLogWriter {
  readonly #maxBatch: number;
  readonly #flushAt: number;
  readonly #maxBuffered: number;
  #buffer: RequestLogEntry[] = [];
  #dropped = 0;
  #written = 0;
  // kept as text: stats() is read by every /api/health request
  #lastFlushAt: string | null = null;
  #lastError: string | null = null;
  #flushing: Promise<void> | undefined;

  readonly #onBatchReady: (() => void) | undefined;

  /**
   * flushAt: rows that make a batch worth writing before the timer (500); onBatchReady is called
   * when the buffer reaches it. maxBatch: most rows one statement takes (5,000): a flush writes
   * everything waiting, up to that, at once (over COPY up to twice that, in two halves).
   */
  constructor(options: { flushAt?: number; maxBatch?: number; maxBuffered?: number; onBatchReady?: () => void } = {}) {
    this.#flushAt = options.flushAt ?? 500;
    this.#onBatchReady = options.onBatchReady;
    this.#maxBatch = options.maxBatch ?? 5000;
    this.#maxBuffered = options.maxBuffered ?? 10_000;
  }

  add(entry: RequestLogEntry): void {
    this.#buffer.push(storable(entry));
    this.#trim();
    if (this.#buffer.length === this.#flushAt) this.#onBatchReady?.();
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
      lastFlushAt: this.#lastFlushAt,
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
    // A backlog (the database was away, or a burst) goes in over two connections when COPY
    // does, half each, up to a batch a half: the server inserts the halves on two cores,
    // each half in a transaction of its own with its rollups. The timer's flushes are smaller
    // and take one.
    const copy = await copyPoolOf(db).catch(() => null);
    const batch = this.#buffer.splice(0, copy ? 2 * this.#maxBatch : this.#maxBatch);
    const parts =
      copy && batch.length >= SPLIT_AT ? [batch.slice(0, batch.length >> 1), batch.slice(batch.length >> 1)] : [batch];
    const failures = await Promise.all(parts.map((part) => failureOf(insertBatch(db, part))));
    // A row for a day without a partition (the daily job did not run): create the days of the
    // parts refused for it, once, then write those parts again.
    const refused = parts.filter((_, i) => (failures[i] as { code?: string } | undefined)?.code === '23514');
    if (refused.length > 0) {
      const days = refused.flat().map((e) => e.createdAt.getTime());
      const from = new Date(Math.min(...days));
      const ahead = Math.ceil((Math.max(...days) - Math.min(...days)) / DAY_MS) + 1;
      const repair = await failureOf(ensureRequestLogPartitions(db, from, ahead));
      for (const [i, part] of parts.entries()) {
        if (refused.includes(part)) failures[i] = repair ?? (await failureOf(insertBatch(db, part)));
      }
    }
    const unwritten: RequestLogEntry[] = [];
    for (const [i, part] of parts.entries()) {
      if (failures[i] === undefined) this.#written += part.length;
      else unwritten.push(...part);
    }
    const failure = failures.find((f) => f !== undefined);
    if (unwritten.length === 0) {
      this.#lastFlushAt = new Date().toISOString();
      this.#lastError = null;
      return;
    }
    // The rows not written go back to the front, to be tried again by the next flush.
    this.#buffer = unwritten.concat(this.#buffer);
    this.#trim();
    this.#lastError = failure instanceof Error ? failure.message : String(failure);
    throw failure;
  }

  #trim() {
    const excess = this.#buffer.length - this.#maxBuffered;
    if (excess > 0) {
      this.#buffer.splice(0, excess);
      this.#dropped += excess;
    }
  }
}

/** What Postgres text cannot hold: NUL, and UTF-16 surrogates without their pair. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what must be found
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const TEXT_FIELDS = ['method', 'path', 'route', 'ip', 'requestId', 'errorCode', 'errorMessage'] as const;

/**
 * The entry with U+FFFD where a string holds what Postgres would refuse (a request path or an
 * exception message can), and no user id unless it is a UUID: one such row must not fail its
 * whole batch on every retry.
 */
function storable(entry: RequestLogEntry): RequestLogEntry {
  let clean: RequestLogEntry | undefined;
  const userId = storableUserId(entry.userId);
  if (userId !== entry.userId) clean = { ...entry, userId };
  for (const field of TEXT_FIELDS) {
    const value = entry[field];
    if (value && UNSTORABLE.test(value)) {
      UNSTORABLE.lastIndex = 0;
      clean ??= { ...entry };
      clean[field] = value.replace(UNSTORABLE, '\ufffd');
    }
  }
  return clean ?? entry;
}

/** The rollups' route key for a request that matched no route (raw rows have route null). */
export const UNMATCHED_ROUTE = '(unmatched)';

type LatencyGroup = { requests: number; errors: number; sum: number; max: number; buckets: number[] };
/** 4xx/5xx of one route, method and status within one hour or day (`at`: its start, epoch ms). */
type ErrorGroup = {
  at: number;
  method: string;
  route: string;
  status: number;
  count: number;
  first: number;
  last: number;
  samples: string[];
};

/** Adds errors to the group of the hour or day (`unit` ms) they fall in, keeping up to ERROR_SAMPLES messages. */
function addErrors(
  groups: Map<string, ErrorGroup>,
  unit: number,
  errors: Omit<ErrorGroup, 'samples'>,
  samples: readonly string[],
): void {
  const at = Math.floor(errors.at / unit) * unit;
  const group = groupOf(groups, `${at} ${errors.status} ${errors.method} ${errors.route}`, () => ({
    ...errors,
    at,
    count: 0,
    samples: [] as string[],
  }));
  group.count += errors.count;
  if (errors.first < group.first) group.first = errors.first;
  if (errors.last > group.last) group.last = errors.last;
  for (const sample of samples) {
    if (group.samples.length < ERROR_SAMPLES && !group.samples.includes(sample)) group.samples.push(sample);
  }
}

function latencyGroup(): LatencyGroup {
  return { requests: 0, errors: 0, sum: 0, max: 0, buckets: Array(LATENCY_BUCKETS_MS.length + 1).fill(0) };
}

function addLatency(group: LatencyGroup, e: RequestLogEntry, slot: number): void {
  group.requests++;
  if (e.status >= 500) group.errors++;
  group.sum += e.durationMs;
  if (e.durationMs > group.max) group.max = e.durationMs;
  group.buckets[slot] = (group.buckets[slot] ?? 0) + 1;
}

function groupOf<K, V>(groups: Map<K, V>, key: K, make: () => V): V {
  let group = groups.get(key);
  if (group === undefined) {
    group = make();
    groups.set(key, group);
  }
  return group;
}

/**
 * A batch's contribution to the four rollups, keyed as their primary keys: rows are added as the
 * batch is written (the COPY path adds each chunk as it sends it), then rows() gives the upserts' input.
 */
class BatchRollups {
  readonly #minutes = new Map<string, LatencyGroup & { minute: number; method: string; route: string }>();
  readonly #totals = new Map<number, LatencyGroup>();
  readonly #errors = new Map<string, ErrorGroup>();

  add(entries: readonly RequestLogEntry[]): this {
    for (const e of entries) {
      const at = e.createdAt.getTime();
      const minute = Math.floor(at / 60_000) * 60_000;
      const route = e.route ?? UNMATCHED_ROUTE;
      let slot = LATENCY_BUCKETS_MS.findIndex((limit) => e.durationMs < limit);
      if (slot === -1) slot = LATENCY_BUCKETS_MS.length;
      const key = `${minute} ${e.method} ${route}`;
      addLatency(
        groupOf(this.#minutes, key, () => ({ ...latencyGroup(), minute, method: e.method, route })),
        e,
        slot,
      );
      addLatency(groupOf(this.#totals, minute, latencyGroup), e, slot);
      if (e.status >= 400) {
        const sample = e.errorMessage || e.errorCode;
        const seen = { at, method: e.method, route, status: e.status, count: 1, first: at, last: at };
        addErrors(this.#errors, HOUR_MS, seen, sample ? [sample] : []);
      }
    }
    return this;
  }

  /**
   * Each rollup's rows in the order of their keys: two flushes at once (the halves of a backlog,
   * or two processes' writers) then lock the rows they share in the same order, so one waits for
   * the other instead of deadlocking (which failed the flush, its rows kept for the next).
   */
  rows() {
    // The same error groups per day, for windows of days (errors over a week read ~24x fewer rows).
    const days = new Map<string, ErrorGroup>();
    for (const { samples, ...hour } of this.#errors.values()) addErrors(days, DAY_MS, hour, samples);
    return {
      minutes: byKey(this.#minutes),
      totals: [...this.#totals.entries()].sort(([a], [b]) => a - b),
      errors: byKey(this.#errors),
      errorDays: byKey(days),
    };
  }
}

/** A map's values in the order of its keys. */
const byKey = <V>(groups: Map<string, V>): V[] =>
  [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, group]) => group);

const iso = (ms: number) => new Date(ms).toISOString();
/** createdAt as epoch milliseconds: JSON.stringify of a Date goes through toJSON, twice the cost. */
const epochTimed = (e: RequestLogEntry) => ({ ...e, createdAt: e.createdAt.getTime() });

/**
 * Lets the requests waiting behind a flush run before its next step (Node; a Worker writes in
 * waitUntil, after its response). A 500-row flush done in one turn held the event loop for ~0.5 ms,
 * up to 1.5: that is added to whichever requests arrive meanwhile.
 */
const nextTurn = (): Promise<void> | undefined =>
  typeof setImmediate === 'function' ? new Promise((resolve) => setImmediate(resolve)) : undefined;

async function insertBatch(db: Db, batch: RequestLogEntry[]): Promise<void> {
  const copy = await copyPoolOf(db);
  if (copy) return copyBatch(copy, db, batch);
  const rollups = new BatchRollups().add(batch).rows();
  await nextTurn();
  const rows = JSON.stringify(batch.map(epochTimed));
  await nextTurn();
  // One statement (data-modifying CTEs), so no rollup counts rows that were not written and no
  // multi-statement transaction is held (pglite-socket mixes those up under concurrency). Each
  // set goes in as one JSON parameter read by json_to_recordset: a fixed-size statement whatever
  // the batch, and JSON.stringify costs the event loop a third of what pg's array encoding does.
  await sql`with logged as (
      insert into request_logs (created_at, method, path, route, status, duration_ms, user_id, ip, request_id, error_code, error_message)
      select to_timestamp("createdAt" / 1000.0), method, path, route, status, "durationMs", "userId", ip, "requestId",
        "errorCode", "errorMessage"
      from json_to_recordset(${rows}::json) as t("createdAt" float8, method text, path text,
        route text, status smallint, "durationMs" real, "userId" uuid, ip text, "requestId" text, "errorCode" text,
        "errorMessage" text)
    ),
    ${rollupSteps(rollups)}`.execute(db);
}

type Rollups = ReturnType<BatchRollups['rows']>;

/** The rollups' upserts as the steps of one statement (data-modifying CTEs, the last one its body). */
function rollupSteps({ minutes, totals, errors, errorDays }: Rollups) {
  const rollupRows = minutes.map((r) => ({ ...r, minute: iso(r.minute) }));
  const totalRows = totals.map(([minute, r]) => ({ ...r, minute: iso(minute) }));
  return sql`by_route as (
      insert into request_log_minutes as m (minute, method, route, requests, errors, duration_sum_ms, duration_max_ms, buckets)
      select minute, method, route, requests, errors, sum, max, buckets
      from json_to_recordset(${JSON.stringify(rollupRows)}::json) as t(minute timestamptz, method text, route text,
        requests integer, errors integer, sum float8, max real, buckets integer[])
      on conflict (minute, method, route) do update set
        requests = m.requests + excluded.requests, errors = m.errors + excluded.errors,
        duration_sum_ms = m.duration_sum_ms + excluded.duration_sum_ms,
        duration_max_ms = greatest(m.duration_max_ms, excluded.duration_max_ms),
        buckets = array(select a + b from unnest(m.buckets, excluded.buckets) as h(a, b))
    ),
    totals as (
      insert into request_log_minute_totals as m (minute, requests, errors, duration_sum_ms, duration_max_ms, buckets)
      select minute, requests, errors, sum, max, buckets
      from json_to_recordset(${JSON.stringify(totalRows)}::json) as t(minute timestamptz, requests integer,
        errors integer, sum float8, max real, buckets integer[])
      on conflict (minute) do update set
        requests = m.requests + excluded.requests, errors = m.errors + excluded.errors,
        duration_sum_ms = m.duration_sum_ms + excluded.duration_sum_ms,
        duration_max_ms = greatest(m.duration_max_ms, excluded.duration_max_ms),
        buckets = array(select a + b from unnest(m.buckets, excluded.buckets) as h(a, b))
    ),
    error_hours as (${upsertErrorGroups('request_log_error_hours', 'hour', errors)})
    ${upsertErrorGroups('request_log_error_days', 'day', errorDays)}`;
}

/** Which databases take COPY (Node against a real server, not PGlite), asked once per Db. */
const copyPools = new WeakMap<Db, Promise<pg.Pool | null>>();

function copyPoolOf(db: Db): Promise<pg.Pool | null> {
  let known = copyPools.get(db);
  if (!known) {
    const pool = poolOf(db);
    known =
      pool && detectRuntime() === 'node'
        ? isPglite(db).then((pglite) => (pglite ? null : pool))
        : Promise.resolve(null);
    // a failure (the database is away) is asked again next time
    known.catch(() => copyPools.delete(db));
    copyPools.set(db, known);
  }
  return known;
}

/** The rollups' upserts as a prepared statement on the writer's connections. */
const ROLLUPS_STATEMENT = 'opsbase_request_log_rollups';

/** What `work` failed with, or undefined when it did not. */
const failureOf = (work: Promise<unknown>): Promise<unknown> =>
  work.then(
    () => undefined,
    (error: unknown) => error ?? new Error('request log flush failed'),
  );

/** A batch of at least this many rows is written over two connections, half each (COPY only). */
const SPLIT_AT = 2000;

/** Connections the writer's pool should allow: one for the timer's flushes, two for a backlog. */
export const REQUEST_LOG_CONNECTIONS = 2;

/** Rows per COPY message: each chunk is encoded while the server inserts the chunks before it. */
const COPY_CHUNK = 500;

/**
 * The writer's transactions commit without waiting for their WAL to reach disk (for their own
 * transaction only: SET LOCAL). Request logs are telemetry: a database crash may lose the last
 * few hundred milliseconds of rows the writer counted written (at most 3 x wal_writer_delay, 600
 * ms by default), never half a flush (a row and its rollups commit together), and an app crash
 * loses its unflushed buffer anyway. Waiting for the flush to disk cost a backlog ~1/7 of its
 * rows a second (141-152k vs 159-176k, alternated on the bench's VM).
 */
const BEGIN_ASYNC_COMMIT = 'begin; set local synchronous_commit = off';

/**
 * Node against a real server: the rows go in through COPY (the server inserts them in batches:
 * ~1/6 more rows a second than INSERT ... SELECT from json_to_recordset, and its binary format
 * costs Node less than the JSON), then the rollups' statement, in one transaction on the
 * writer's connection. The rows are sent COPY_CHUNK at a time, each chunk encoded and its
 * rollups added as it goes, so Node's work on a chunk overlaps the server's on the one before (a
 * whole batch made first left each side waiting for the other), and no one step holds the event
 * loop for more than a chunk's worth.
 */
async function copyBatch(pool: pg.Pool, db: Db, batch: RequestLogEntry[]): Promise<void> {
  const rollups = new BatchRollups();
  const client = await pool.connect();
  // set when the connection cannot be trusted any more (not even a rollback went through)
  let broken: Error | undefined;
  try {
    await client.query(BEGIN_ASYNC_COMMIT);
    const { from } = await import('pg-copy-streams');
    const stream = client.query(from(COPY_LOGS));
    // The pool limits text queries only (streams may run long): this COPY is held to the same
    // limit, so a connection the network dropped without a word fails the flush (its rows kept)
    // instead of holding the writer until TCP gives up.
    const limit = queryTimeoutOf(pool);
    let failed = false;
    const copied = new Promise<void>((resolve, reject) => {
      const timer =
        limit === undefined
          ? undefined
          : setTimeout(() => {
              broken = new Error(`request log COPY got no answer within ${limit} ms`);
              reject(broken);
              destroyConnection(client);
            }, limit);
      stream.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      stream.on('finish', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    copied.catch(() => {
      failed = true;
    });
    stream.write(COPY_HEADER);
    for (let i = 0; i < batch.length && !failed; i += COPY_CHUNK) {
      const chunk = batch.slice(i, i + COPY_CHUNK);
      rollups.add(chunk);
      // Past the stream's buffer, wait for the socket to take it (or for the COPY to fail).
      if (!stream.write(copyBinary(chunk))) await Promise.race([once(stream, 'drain'), copied]);
      else await nextTurn();
    }
    if (!failed) stream.end(COPY_TRAILER);
    await copied;
    const upserts = sql`with ${rollupSteps(rollups.rows())}`.compile(db);
    // Named, so each connection plans it once: planning the four upserts took ~1 ms of the
    // server's CPU a flush, as much as writing 130 rows (the text is the same every time).
    await client.query({ name: ROLLUPS_STATEMENT, text: upserts.sql, values: [...upserts.parameters] });
    await client.query('commit');
  } catch (error) {
    // A refused row (no partition for its day, say) leaves the connection usable once rolled back
    if (!broken) {
      await client.query('rollback').catch(() => {
        broken = error as Error;
      });
    }
    throw error;
  } finally {
    client.release(broken);
  }
}

/** Adds error groups to the hourly or daily error rollup (counts summed, first/last widened, samples merged). */
function upsertErrorGroups(
  table: 'request_log_error_hours' | 'request_log_error_days',
  key: 'hour' | 'day',
  groups: ErrorGroup[],
) {
  const rows = groups.map((g) => ({ ...g, at: iso(g.at), first: iso(g.first), last: iso(g.last) }));
  return sql`insert into ${sql.table(table)} as e (${sql.ref(key)}, method, route, status, count, first_seen, last_seen, samples)
    select at, method, route, status, count, first, last, samples
    from json_to_recordset(${JSON.stringify(rows)}::json) as t(at timestamptz, method text, route text,
      status smallint, count integer, first timestamptz, last timestamptz, samples text[])
    on conflict (${sql.ref(key)}, method, route, status) do update set
      count = e.count + excluded.count, first_seen = least(e.first_seen, excluded.first_seen),
      last_seen = greatest(e.last_seen, excluded.last_seen),
      samples = case when cardinality(e.samples) >= ${ERROR_SAMPLES} then e.samples
        else (array(select distinct s from unnest(e.samples || excluded.samples) as x(s)))[1:${ERROR_SAMPLES}] end`;
}
