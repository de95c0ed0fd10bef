// Request logging's cost: the same small route (/api/health: the database probe and the newest
// backup, two small queries side by side) with logging on and off, in one run; and the
// writer's throughput beside a plain multi-row INSERT and an UNNEST insert of the same rows. On
// the embedded PGlite always, and on PostgreSQL too when the local server answers.
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { createDb, createPool, type Db } from '../lib/db/connection.ts';
import { migrateOrThrow } from '../lib/db/migrate.ts';
import { type RequestLogEntry, RequestLogWriter } from '../lib/observability/request-log-writer.ts';
import { startEmbeddedPostgres } from '../local/embedded-postgres.ts';
import { backendCpuMicros } from './support/backend-cpu.ts';
import { jwtSecretForScratch } from './support/jwt-secret.ts';
import { type LoadResult, runLoad } from './support/load.ts';
import { localServerVersion, scratchPostgresDatabase } from './support/local-postgres.ts';
import { type OpenLoopResult, runOpenLoop } from './support/open-loop.ts';
import { scratchDir } from './support/paths.ts';
import { progress } from './support/progress.ts';
import { type ServerChild, startServerChild } from './support/server-child.ts';
import { positiveNumberFromEnv } from './support/settings.ts';
import { median } from './support/stats.ts';
import { formatTable } from './support/table.ts';
import type { Verdict } from './support/verdict.ts';

const say = progress('logging');
const ROWS = 50_000;
const ROUNDS = 3;
const MIN_RATIO = 0.95;
const MAX_EXTRA_P99_MS = 1;
/** The open-loop phase's rate, as a share of what the server answers saturated with logging off. */
const OPEN_LOOP_SHARE = 0.3;
const OPEN_LOOP_ROUNDS = 3;
const MIN_ROWS_PER_SECOND = 100_000;

let serial = 0;
const entry = (i: number): RequestLogEntry => ({
  createdAt: new Date(Date.now() - i),
  method: i % 4 === 0 ? 'POST' : 'GET',
  path: `/api/leads/${i}`,
  route: i % 3 === 0 ? '/api/tasks' : '/api/leads/:id',
  status: i % 50 === 0 ? 500 : i % 20 === 0 ? 404 : 200,
  durationMs: (i % 97) / 3,
  userId: i % 2 === 0 ? '6cf763a0-9379-4ec8-a7d3-c4d8ec653fda' : null,
  ip: '203.0.113.7',
  requestId: `req-${serial++}`,
  errorCode: i % 20 === 0 ? 'NOT_FOUND' : null,
  errorMessage: i % 20 === 0 ? 'lead not found' : null,
});

/** A database the benches run against: the bundle's environment and a connection for the writer. */
type Target = {
  kind: 'pglite' | 'postgres';
  label: string;
  serverEnv(mode: string): Record<string, string>;
  /** CPU the database has spent for the server in `mode` so far (µs); PGlite runs inside the server. */
  databaseCpuMicros?(mode: string): Promise<number>;
  openDb(): Promise<{ db: Db; close(): Promise<void> }>;
  /**
   * After a round with logging on, outside the measured time: the work its inserts leave behind
   * for later (autovacuum of the log table, a checkpoint) is done now, or it would land in
   * whichever round runs next, often one with logging off.
   */
  settle?(): Promise<void>;
  remove(): Promise<void>;
};

async function pgliteTarget(): Promise<Target> {
  const dir = scratchDir('logging');
  return {
    kind: 'pglite',
    label: 'PGlite (embedded, in the server process)',
    // Each server gets its own data dir: one PGlite per process.
    serverEnv: (mode) => ({ DATA_DIR: join(dir.path, mode), LOCAL_PG_PORT: '0' }),
    async openDb() {
      const embedded = await startEmbeddedPostgres({ dataDir: join(dir.path, 'writer'), port: 0 });
      const db = createDb(createPool(embedded.url, { max: 1 }));
      return {
        db,
        async close() {
          await db.destroy();
          await embedded.stop();
        },
      };
    },
    async remove() {
      dir.remove();
    },
  };
}

async function postgresTarget(version: string): Promise<Target> {
  const scratch = await scratchPostgresDatabase('logging');
  return {
    kind: 'postgres',
    label: `PostgreSQL ${version.split(' ')[0]} (127.0.0.1:5432, database ${scratch.name})`,
    // Named connections, so the backends serving each server can be told apart.
    serverEnv: (mode) => ({ DATABASE_URL: `${scratch.url}?application_name=opsbase-bench-${mode}` }),
    databaseCpuMicros: (mode) => backendCpuMicros(scratch.url, `opsbase-bench-${mode}`),
    async openDb() {
      const db = createDb(createPool(scratch.url, { max: 1 }));
      return { db, close: () => db.destroy() };
    },
    async settle() {
      const db = createDb(createPool(scratch.url, { max: 1 }));
      try {
        await sql`vacuum (analyze) request_logs`.execute(db);
        await sql`checkpoint`.execute(db).catch(() => undefined); // needs superuser or pg_checkpoint
      } finally {
        await db.destroy();
      }
    },
    remove: () => scratch.drop(),
  };
}

async function timedRows(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return ROWS / ((performance.now() - started) / 1000);
}

/** Writer and anchors in alternation, ROUNDS times each, so a noisy neighbour hits them alike. */
async function writerThroughput(db: Db): Promise<[string, number][]> {
  const ways: [string, (rows: RequestLogEntry[]) => Promise<void>][] = [
    [
      'RequestLogWriter (batches of 5,000, rollups included)',
      async (rows) => {
        const writer = new RequestLogWriter({ maxBuffered: ROWS });
        for (const r of rows) writer.add(r);
        await writer.drain(db);
      },
    ],
    [
      'plain multi-row INSERT, 500 a statement (anchor)',
      async (rows) => {
        for (let i = 0; i < rows.length; i += 500) {
          await db
            .insertInto('request_logs')
            .values(
              rows.slice(i, i + 500).map((e) => ({
                created_at: e.createdAt,
                method: e.method,
                path: e.path,
                route: e.route,
                status: e.status,
                duration_ms: e.durationMs,
                user_id: e.userId,
                ip: e.ip,
                request_id: e.requestId,
                error_code: e.errorCode,
                error_message: e.errorMessage,
              })),
            )
            .execute();
        }
      },
    ],
    [
      'UNNEST insert, 5,000 a statement, no rollups (anchor)',
      async (rows) => {
        for (let i = 0; i < rows.length; i += 5000) {
          const chunk = rows.slice(i, i + 5000);
          const col = <T>(pick: (e: RequestLogEntry) => T) => chunk.map(pick);
          await sql`insert into request_logs (created_at, method, path, route, status, duration_ms, user_id, ip, request_id, error_code, error_message)
            select * from unnest(${col((e) => e.createdAt.toISOString())}::timestamptz[], ${col((e) => e.method)}::text[],
              ${col((e) => e.path)}::text[], ${col((e) => e.route)}::text[], ${col((e) => e.status)}::smallint[],
              ${col((e) => e.durationMs)}::real[], ${col((e) => e.userId)}::uuid[], ${col((e) => e.ip)}::text[],
              ${col((e) => e.requestId)}::text[], ${col((e) => e.errorCode)}::text[], ${col((e) => e.errorMessage)}::text[])`.execute(
            db,
          );
        }
      },
    ],
  ];
  const samples = ways.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, [, write]] of ways.entries()) {
      const rows = Array.from({ length: ROWS }, (_, n) => entry(n));
      samples[i]?.push(await timedRows(() => write(rows)));
    }
  }
  return ways.map(([label], i) => [label, median(samples[i] ?? [])]);
}

type Side = LoadResult & { serverCpuPerRequest: number; databaseCpuPerRequest: number | null };

/**
 * Logging off and on, alternated (off, on, off, on), each side's rounds combined. Besides wall
 * time, the CPU each side cost per request: the server process's own, and the database backends'
 * on PostgreSQL; on a shared machine those hold still where req/s and p99 do not.
 */
async function onOff(
  target: Target,
  servers: Record<'off' | 'on', ServerChild>,
  durationSeconds: number,
): Promise<Record<'off' | 'on', Side>> {
  const url = (mode: 'off' | 'on') => `${servers[mode].url}/api/health`;
  for (const mode of ['off', 'on'] as const) await runLoad({ url: url(mode), connections: 100, durationSeconds: 2 });
  const runs: Record<'off' | 'on', { load: LoadResult; server: number; database: number | null }[]> = {
    off: [],
    on: [],
  };
  for (let round = 0; round < 2; round++) {
    for (const mode of ['off', 'on'] as const) {
      const server = await servers[mode].cpuMicros();
      const database = await target.databaseCpuMicros?.(mode);
      const load = await runLoad({ url: url(mode), connections: 100, durationSeconds });
      // The last flush of the run is part of its cost: wait for the writer's timer to pass.
      await new Promise((resolve) => setTimeout(resolve, 700));
      const databaseAfter = await target.databaseCpuMicros?.(mode);
      if (mode === 'on') {
        // A writer that fell behind drops rows and does less work: a ratio only counts when it kept up.
        const health = (await (await fetch(url(mode))).json()) as {
          requestLogs?: { backlog: number; dropped: number };
        };
        say(
          `logging on, round ${round + 1}: writer backlog ${health.requestLogs?.backlog}, dropped ${health.requestLogs?.dropped} so far`,
        );
      }
      runs[mode].push({
        load,
        server: (await servers[mode].cpuMicros()) - server,
        database: database === undefined || databaseAfter === undefined ? null : databaseAfter - database,
      });
      if (mode === 'on') await target.settle?.();
    }
  }
  const combine = (results: (typeof runs)['on']): Side => {
    const requests = results.reduce((a, r) => a + r.load.requests, 0);
    return {
      requests,
      requestsPerSecond: results.reduce((a, r) => a + r.load.requestsPerSecond, 0) / results.length,
      p50Ms: median(results.map((r) => r.load.p50Ms)),
      p95Ms: median(results.map((r) => r.load.p95Ms)),
      p99Ms: median(results.map((r) => r.load.p99Ms)),
      failures: results.reduce((a, r) => a + r.load.failures, 0),
      serverCpuPerRequest: results.reduce((a, r) => a + r.server, 0) / requests,
      databaseCpuPerRequest: results.some((r) => r.database === null)
        ? null
        : results.reduce((a, r) => a + (r.database ?? 0), 0) / requests,
    };
  };
  return { off: combine(runs.off), on: combine(runs.on) };
}

/**
 * The p99 target, measured where it means something: requests at a fixed rate well under
 * capacity (an open loop, latency counted from when each was due), logging off and on
 * alternated over several rounds; each side's p99 is the median of its rounds.
 */
async function openLoopOnOff(
  target: Target,
  servers: Record<'off' | 'on', ServerChild>,
  ratePerSecond: number,
  durationSeconds: number,
): Promise<Record<'off' | 'on', OpenLoopResult>> {
  const url = (mode: 'off' | 'on') => `${servers[mode].url}/api/health`;
  for (const mode of ['off', 'on'] as const) await runOpenLoop({ url: url(mode), ratePerSecond, durationSeconds: 2 });
  await target.settle?.();
  const runs: Record<'off' | 'on', OpenLoopResult[]> = { off: [], on: [] };
  for (let round = 0; round < OPEN_LOOP_ROUNDS; round++) {
    for (const mode of ['off', 'on'] as const) {
      runs[mode].push(await runOpenLoop({ url: url(mode), ratePerSecond, durationSeconds }));
      if (mode === 'on') await target.settle?.();
    }
  }
  const combine = (results: OpenLoopResult[]): OpenLoopResult => ({
    requests: results.reduce((a, r) => a + r.requests, 0),
    failures: results.reduce((a, r) => a + r.failures, 0),
    p50Ms: median(results.map((r) => r.p50Ms)),
    p99Ms: median(results.map((r) => r.p99Ms)),
    maxSendLagMs: Math.max(...results.map((r) => r.maxSendLagMs)),
  });
  say(
    `open loop p99 by round: off ${runs.off.map((r) => r.p99Ms.toFixed(2)).join(', ')}; on ${runs.on.map((r) => r.p99Ms.toFixed(2)).join(', ')} ms`,
  );
  return { off: combine(runs.off), on: combine(runs.on) };
}

async function measure(target: Target, durationSeconds: number): Promise<Verdict[]> {
  const common = {
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    JWT_SECRET: jwtSecretForScratch(),
    THROTTLE_LIMIT: '0',
  };
  // The route is /api/health with the exclusion lifted: one database query, the whole stack.
  say(`${target.label}: starting the bundle twice, logging off and on`);
  const servers = {
    off: await startServerChild('bench/servers/bundle.ts', {
      ...common,
      ...target.serverEnv('off'),
      REQUEST_LOG_EXCLUDE: '/api',
    }),
    on: await startServerChild('bench/servers/bundle.ts', {
      ...common,
      ...target.serverEnv('on'),
      REQUEST_LOG_EXCLUDE: '/api/none',
    }),
  };
  let load: Awaited<ReturnType<typeof onOff>>;
  let open: Awaited<ReturnType<typeof openLoopOnOff>>;
  let openRate: number;
  try {
    say(`${target.label}: off, on, off, on; ${durationSeconds} s each`);
    load = await onOff(target, servers, durationSeconds);
    openRate = Math.round(load.off.requestsPerSecond * OPEN_LOOP_SHARE);
    say(`${target.label}: open loop at ${openRate} req/s, off and on alternated, ${OPEN_LOOP_ROUNDS} rounds`);
    open = await openLoopOnOff(target, servers, openRate, durationSeconds);
  } finally {
    await servers.off.stop();
    await servers.on.stop();
  }

  say(`${target.label}: writer throughput, ${ROWS.toLocaleString('en-US')} rows x ${ROUNDS} rounds each way`);
  const { db, close } = await target.openDb();
  let throughput: [string, number][];
  try {
    await migrateOrThrow(db);
    throughput = await writerThroughput(db);
  } finally {
    await close();
  }

  console.log(`\n${target.label}; load average ${(loadavg()[0] ?? 0).toFixed(1)} on ${cpus().length} cores\n`);
  console.log(`GET /api/health (two small queries), 100 connections, 2 x ${durationSeconds} s each, alternated\n`);
  const cpu = (side: Side) => side.serverCpuPerRequest + (side.databaseCpuPerRequest ?? 0);
  console.log(
    formatTable(
      ['', 'req/s', 'p50 ms', 'p99 ms', 'failed', 'server CPU µs/req', 'database CPU µs/req'],
      (['off', 'on'] as const).map((mode) => [
        `logging ${mode}`,
        Math.round(load[mode].requestsPerSecond).toLocaleString('en-US'),
        load[mode].p50Ms.toFixed(2),
        load[mode].p99Ms.toFixed(2),
        String(load[mode].failures),
        load[mode].serverCpuPerRequest.toFixed(0),
        load[mode].databaseCpuPerRequest?.toFixed(0) ?? '(in the server)',
      ]),
    ),
  );
  console.log(
    `\nCPU per request, server + database: off ${cpu(load.off).toFixed(0)} µs, on ${cpu(load.on).toFixed(0)} µs: ` +
      `${(cpu(load.off) / cpu(load.on)).toFixed(2)}x the requests per CPU-second with logging on`,
  );
  console.log(
    `\nGET /api/health at a fixed ${openRate.toLocaleString('en-US')} req/s (${OPEN_LOOP_SHARE * 100}% of logging off's req/s above), ` +
      `latency from when each request was due, ${OPEN_LOOP_ROUNDS} x ${durationSeconds} s each, alternated; medians of the rounds\n`,
  );
  console.log(
    formatTable(
      ['', 'answers', 'p50 ms', 'p99 ms', 'failed', 'generator lag max ms'],
      (['off', 'on'] as const).map((mode) => [
        `logging ${mode}`,
        open[mode].requests.toLocaleString('en-US'),
        open[mode].p50Ms.toFixed(2),
        open[mode].p99Ms.toFixed(2),
        String(open[mode].failures),
        open[mode].maxSendLagMs.toFixed(1),
      ]),
    ),
  );
  console.log(`\n${ROWS.toLocaleString('en-US')} rows each, median of ${ROUNDS} alternated rounds\n`);
  console.log(
    formatTable(
      ['', 'rows/s'],
      throughput.map(([l, n]) => [l, Math.round(n).toLocaleString('en-US')]),
    ),
  );
  const [writer, plain, unnest] = throughput.map(([, n]) => n);
  console.log(
    `\nwriter / UNNEST anchor: ${((writer ?? 0) / (unnest ?? 1)).toFixed(2)}x; writer / plain INSERT: ${((writer ?? 0) / (plain ?? 1)).toFixed(2)}x\n`,
  );

  const ratio = load.on.requestsPerSecond / load.off.requestsPerSecond;
  const extraP99 = open.on.p99Ms - open.off.p99Ms;
  return [
    {
      bench: 'logging',
      target: `${target.kind}: logging on / off req/s >= ${MIN_RATIO}x`,
      measured: `${ratio.toFixed(2)}x (requests per CPU-second: ${(cpu(load.off) / cpu(load.on)).toFixed(2)}x)`,
      pass: ratio >= MIN_RATIO,
    },
    {
      bench: 'logging',
      target: `${target.kind}: logging adds < ${MAX_EXTRA_P99_MS} ms at p99`,
      measured: `${extraP99 >= 0 ? '+' : ''}${extraP99.toFixed(2)} ms at ${openRate} req/s, open loop (p99 ${open.off.p99Ms.toFixed(2)} -> ${open.on.p99Ms.toFixed(2)} ms; saturated, closed loop: ${load.off.p99Ms.toFixed(2)} -> ${load.on.p99Ms.toFixed(2)} ms)`,
      pass: extraP99 < MAX_EXTRA_P99_MS && open.on.failures === 0 && open.off.failures === 0,
    },
    {
      bench: 'logging',
      target: `${target.kind}: writer >= ${MIN_ROWS_PER_SECOND / 1000}k rows/s`,
      measured: `${Math.round(writer ?? 0).toLocaleString('en-US')} rows/s (UNNEST anchor ${Math.round(unnest ?? 0).toLocaleString('en-US')}, plain INSERT ${Math.round(plain ?? 0).toLocaleString('en-US')})`,
      pass: (writer ?? 0) >= MIN_ROWS_PER_SECOND,
    },
  ];
}

export async function run(): Promise<Verdict[]> {
  const durationSeconds = positiveNumberFromEnv('BENCH_DURATION', 10);
  const only = process.env.BENCH_LOGGING_DATABASE?.trim();
  if (only && only !== 'postgres' && only !== 'pglite') {
    throw new Error(`BENCH_LOGGING_DATABASE must be postgres or pglite, got "${only}"`);
  }
  const version = only === 'pglite' ? null : await localServerVersion();
  if (!version && only === 'postgres')
    throw new Error('BENCH_LOGGING_DATABASE=postgres: nothing answers on 127.0.0.1:5432');
  if (!version && !only) say('no PostgreSQL answers on 127.0.0.1:5432: PGlite only');
  const verdicts: Verdict[] = [];
  const targets = [...(only === 'postgres' ? [] : [pgliteTarget]), ...(version ? [() => postgresTarget(version)] : [])];
  for (const make of targets) {
    const target = await make();
    try {
      verdicts.push(...(await measure(target, durationSeconds)));
    } finally {
      await target.remove();
    }
  }
  return verdicts;
}
