import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import v8 from 'node:v8';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, createPool } from '../lib/db/connection.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';

/** Bytes the old generation grew by across each young-generation collection (scavenge) in `work`. */
async function promotedByScavenges(work: (scavenges: () => number) => Promise<void>) {
  let minor = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
      if (detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) minor++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const profiler = new v8.GCProfiler();
  profiler.start();
  try {
    await work(() => minor);
  } finally {
    observer.disconnect();
  }
  const { statistics } = profiler.stop();
  const oldSpace = (side: (typeof statistics)[number]['beforeGC']) =>
    side.heapSpaceStatistics.find((space) => space.spaceName === 'old_space')?.spaceUsedSize ?? 0;
  const scavenges = statistics.filter((s) => s.gcType === 'Scavenge');
  const promoted = scavenges.map((s) => oldSpace(s.afterGC) - oldSpace(s.beforeGC));
  return { scavenges: scavenges.length, promoted };
}

describe.each(databaseKinds())('database pool (%s)', (kind) => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });

  afterAll(async () => {
    await database?.drop();
  });

  // pg, asked for a promise (as Kysely always asks) or given query_timeout, sets a Query's callback
  // after building it; on Node 22 such a query's rows then survived two minor collections, and a
  // page of 50 rows promoted ~35 KB to the old generation: ~2 MB a scavenge here, each taking
  // 5-10 ms. The pool's client builds every Query with its callback.
  for (const queryTimeoutMs of [undefined, 30_000]) {
    it(`query rows die young: a minor collection promotes next to none of them (${queryTimeoutMs ? 'with' : 'without'} a query timeout)`, async () => {
      const db = createDb(createPool(database.url, { max: 1, queryTimeoutMs }));
      try {
        let queries = 0;
        const { scavenges, promoted } = await promotedByScavenges(async (minorSoFar) => {
          // Until four minor collections have run (each query allocates ~60 KB of rows).
          while (minorSoFar() < 4 && queries < 20_000) {
            await sql`select g, repeat('x', 1000) as s, now() as at from generate_series(1, 50) g`.execute(db);
            queries++;
          }
        });
        expect(scavenges).toBeGreaterThanOrEqual(4);
        const perScavenge = promoted.reduce((a, b) => a + b, 0) / scavenges;
        // ~3 KB a collection with the callback given up front; pg's own promise form ~2 MB.
        expect(
          perScavenge,
          `${queries} queries, old generation growth by scavenge: ${promoted.join(', ')}`,
        ).toBeLessThan(256 * 1024);
      } finally {
        await db.destroy();
      }
    });
  }

  it.runIf(kind === 'postgres')(
    'a query timeout drops its connection before the caller hears of it: a query waiting for the slot gets a fresh one',
    async () => {
      // Kysely releases the client without an error; before, the pool handed that client (its
      // socket being destroyed) to the waiting query, which failed with "Connection terminated
      // unexpectedly".
      const poolErrors: string[] = [];
      const db = createDb(
        createPool(database.url, { max: 1, queryTimeoutMs: 500, onError: (e) => poolErrors.push(e.message) }),
      );
      try {
        const slow = sql`select pg_sleep(5)`.execute(db).catch((error: Error) => error);
        const waiting = sql<{ one: number }>`select 1 as one`.execute(db);
        expect(((await slow) as Error).message).toBe('Query read timeout');
        expect((await waiting).rows).toEqual([{ one: 1 }]);
        expect(poolErrors).toEqual([]);
      } finally {
        await db.destroy();
      }
    },
  );

  it('a query answers through the promise and the callback forms alike, and a failed one carries the caller in its stack', async () => {
    const pool = createPool(database.url, { max: 1, queryTimeoutMs: 30_000 });
    try {
      expect((await pool.query('select $1::int as one', [1])).rows).toEqual([{ one: 1 }]);
      const client = await pool.connect();
      try {
        expect((await client.query({ text: 'select 2 as two' })).rows).toEqual([{ two: 2 }]);
        const viaCallback = await new Promise((resolve, reject) =>
          client.query('select 3 as three', (error, result) => (error ? reject(error) : resolve(result.rows))),
        );
        expect(viaCallback).toEqual([{ three: 3 }]);
        const failure = await (async function callerOfABadQuery() {
          try {
            await client.query('select * from no_such_table');
          } catch (error) {
            return error;
          }
        })();
        expect(failure).toBeInstanceOf(Error);
        expect((failure as Error & { code?: string }).code).toBe('42P01');
        expect((failure as Error).stack).toContain('callerOfABadQuery');
        // The connection is still good after an error the server answered.
        expect((await client.query('select 4 as four')).rows).toEqual([{ four: 4 }]);
      } finally {
        client.release();
      }
    } finally {
      await pool.end();
    }
  });
});
