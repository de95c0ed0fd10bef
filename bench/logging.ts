// Request logging's cost: the same small route (/api/health: the database probe and the newest
// backup, two small queries side by side) in one server with logging switched off and on
// between short rounds; and the writer's throughput beside a plain multi-row INSERT and an
// UNNEST insert of the same rows. On the embedded PGlite always, and on PostgreSQL too when the
// local server answers.
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { createDb, createPool, type Db } from '../lib/db/connection.ts';
import { migrateOrThrow } from '../lib/db/migrate.ts';
import {
  REQUEST_LOG_CONNECTIONS,
  type RequestLogEntry,
  RequestLogWriter,
} from '../lib/observability/request-log-writer.ts';
import { spawnEmbeddedPostgres } from '../local/services.ts';
import { backendCpu, type CpuByProcess, childProcessesCpu, cpuUsedSince } from './support/backend-cpu.ts';
import { jwtSecretForScratch } from './support/jwt-secret.ts';
import { runLoad } from './support/load.ts';
import { localServerVersion, scratchPostgresDatabase } from './support/local-postgres.ts';
import { type OpenLoopResult, runOpenLoop } from './support/open-loop.ts';
import { scratchDir } from './support/paths.ts';
import { progress } from './support/progress.ts';
import { type ServerChild, startServerChild } from './support/server-child.ts';
import { positiveNumberFromEnv } from './support/settings.ts';
import { median, medianWithInterval, percentile, pooled, ratioWithInterval } from './support/stats.ts';
import { formatTable } from './support/table.ts';
import type { Verdict } from './support/verdict.ts';

const say = progress('logging');
const ROWS = 50_000;
/** Writer rounds each way: the writer's own rounds moved by a third from one to the next here. */
const ROUNDS = 5;
/** Pairs of rounds, logging off and on, in each of the saturated and the open-loop phases (BENCH_PAIRS). */
const PAIRS = 12;
const MIN_RATIO = 0.95;
const MAX_EXTRA_P99_MS = 1;
/** The open-loop phase's rate, as a share of what the server answers saturated with logging off. */
const OPEN_LOOP_SHARE = 0.3;
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
  serverEnv(): Record<string, string>;
  /** CPU the database's processes serving the server have spent so far (cpuUsedSince tells a round's). */
  databaseCpu(server: ServerChild): Promise<CpuByProcess>;
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
    label: 'PGlite (embedded: the server starts it in a child process)',
    serverEnv: () => ({ DATA_DIR: join(dir.path, 'server'), LOCAL_PG_PORT: '0' }),
    // The server's only child is its embedded database.
    databaseCpu: async (server) => childProcessesCpu(server.process.pid as number),
    async openDb() {
      // In a child process, as the server runs it.
      const embedded = await spawnEmbeddedPostgres({ dataDir: join(dir.path, 'writer'), port: 0 });
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

const SERVER_APPLICATION = 'opsbase-bench-logging';

async function postgresTarget(version: string): Promise<Target> {
  const scratch = await scratchPostgresDatabase('logging');
  return {
    kind: 'postgres',
    label: `PostgreSQL ${version.split(' ')[0]} (127.0.0.1:5432, database ${scratch.name})`,
    // Named connections, so the backends serving the server can be told from the bench's own.
    serverEnv: () => ({ DATABASE_URL: `${scratch.url}?application_name=${SERVER_APPLICATION}` }),
    databaseCpu: () => backendCpu(scratch.url, SERVER_APPLICATION),
    async openDb() {
      // as the server's writer has it: its own pool of REQUEST_LOG_CONNECTIONS
      const db = createDb(createPool(scratch.url, { max: REQUEST_LOG_CONNECTIONS }));
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
      'RequestLogWriter (flushes of 10,000 in two halves, rollups included, asynchronous commit on PostgreSQL)',
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
  for (const [i, [label]] of ways.entries()) {
    say(
      `${label.split(' (')[0]} by round: ${(samples[i] ?? []).map((n) => `${(n / 1000).toFixed(1)}k`).join(' ')} rows/s`,
    );
  }
  return ways.map(([label], i) => [label, median(samples[i] ?? [])]);
}

type Side = {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
  serverCpuPerRequest: number;
  databaseCpuPerRequest: number;
};
type Mode = 'off' | 'on';

/** Logging off: REQUEST_LOG_EXCLUDE=/api (nothing under /api logged); on: the exclusion lifted. */
const EXCLUDE: Record<Mode, string[]> = { off: ['/api'], on: ['/api/none'] };

/**
 * Switches request logging in the one server, then waits for anything still buffered to be
 * written (the timer flushes every 500 ms) and, after a round with logging on, for the work its
 * inserts left behind (target.settle): neither may land in the next round, often the other side's.
 */
async function switchLogging(target: Target, server: ServerChild, mode: Mode, after?: Mode): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 700));
  if (after === 'on') await target.settle?.();
  const exclude = await server.ask({ requestLogExclude: EXCLUDE[mode] }, (answer) =>
    'requestLogExclude' in answer ? answer.requestLogExclude : undefined,
  );
  if (exclude.join() !== EXCLUDE[mode].join()) throw new Error(`the server did not switch logging ${mode}`);
}

/** off then on in even pairs, on then off in odd ones, so neither side always goes first. */
const pairOrder = (pair: number): Mode[] => (pair % 2 === 0 ? ['off', 'on'] : ['on', 'off']);

/** Rounds: how long each is (s) and how many pairs of them. */
type Rounds = { seconds: number; pairs: number };

/** Each side's rounds, and one figure per pair (on / off for req/s, on - off for p99). */
type Pairs<T> = { rounds: Record<Mode, T[]>; byPair: number[]; dropped?: number };

/**
 * Logging off and on in one server process, switched between short rounds, BENCH_PAIRS (12) times each way:
 * the two sides share the process (its JIT, heap, connections and core), and the noise of a
 * shared machine, which moves req/s by 10-20% from one round to the next here, falls on both
 * alike and shows in the interval of the paired ratios instead of in the verdict. Besides wall
 * time, the CPU each side cost per request: the server process's own, and the database
 * backends' on PostgreSQL.
 */
async function onOff(target: Target, server: ServerChild, { seconds, pairs }: Rounds): Promise<Pairs<Side>> {
  const url = `${server.url}/api/health`;
  const rounds: Record<Mode, Side[]> = { off: [], on: [] };
  const ratios: number[] = [];
  let last: Mode | undefined;
  for (const mode of ['off', 'on'] as const) {
    await switchLogging(target, server, mode, last);
    last = mode;
    await runLoad({ url, connections: 100, durationSeconds: 2 }); // warm-up
  }
  for (let pair = 0; pair < pairs; pair++) {
    for (const mode of pairOrder(pair)) {
      await switchLogging(target, server, mode, last);
      last = mode;
      const cpu = await server.cpuMicros();
      const database = await target.databaseCpu(server);
      const load = await runLoad({ url, connections: 100, durationSeconds: seconds });
      // The round's last flush is part of its cost: wait for the writer's timer to pass.
      await new Promise((resolve) => setTimeout(resolve, 700));
      const databaseAfter = await target.databaseCpu(server);
      const requests = Math.max(1, load.requests);
      rounds[mode].push({
        ...load,
        serverCpuPerRequest: ((await server.cpuMicros()) - cpu) / requests,
        databaseCpuPerRequest: cpuUsedSince(database, databaseAfter) / requests,
      });
    }
    ratios.push((rounds.on.at(-1)?.requestsPerSecond ?? 0) / (rounds.off.at(-1)?.requestsPerSecond ?? 1));
  }
  // A writer that fell behind drops rows and does less work: a ratio only counts when it kept up.
  const health = (await (await fetch(url)).json()) as { requestLogs?: { backlog: number; dropped: number } };
  say(`after the rounds: writer backlog ${health.requestLogs?.backlog}, dropped ${health.requestLogs?.dropped}`);
  say(`req/s on / off by pair: ${ratios.map((r) => r.toFixed(2)).join(' ')}`);
  return { rounds, byPair: ratios, dropped: health.requestLogs?.dropped ?? Number.NaN };
}

/** Each side's rounds as one: requests summed, req/s and CPU averaged by request, latency medians. */
function combine(rounds: Side[]): Side {
  const requests = rounds.reduce((a, r) => a + r.requests, 0);
  const weighted = (pick: (r: Side) => number) => rounds.reduce((a, r) => a + pick(r) * r.requests, 0) / requests;
  return {
    requests,
    requestsPerSecond: rounds.reduce((a, r) => a + r.requestsPerSecond, 0) / rounds.length,
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    failures: rounds.reduce((a, r) => a + r.failures, 0),
    serverCpuPerRequest: weighted((r) => r.serverCpuPerRequest),
    databaseCpuPerRequest: weighted((r) => r.databaseCpuPerRequest),
  };
}

/**
 * The p99 target, measured where it means something: requests at a fixed rate well under
 * capacity (an open loop, latency counted from when each was due), logging off and on switched
 * between rounds as above. Each round's p99, and the difference of each pair's (on - off): the
 * verdict is their median, as req/s's is the mean of the pairs. A p99 over each side's rounds
 * pooled is printed too, but on a shared machine a few stalls of 20-100 ms decide it: one pair
 * caught in one moves it by more than the target, and the same code read +0.07 and +3.26 ms so.
 */
async function openLoopOnOff(
  target: Target,
  server: ServerChild,
  ratePerSecond: number,
  { seconds, pairs }: Rounds,
): Promise<Pairs<OpenLoopResult> & { cpu: Record<Mode, OpenLoopCpu> }> {
  const url = `${server.url}/api/health`;
  const rounds: Record<Mode, OpenLoopResult[]> = { off: [], on: [] };
  // CPU below saturation: at a fixed rate neither side's work slows the other's requests down,
  // so the difference per request is logging's own cost rather than its share of a full machine.
  const cpu: Record<Mode, OpenLoopCpu> = { off: { server: 0, database: 0 }, on: { server: 0, database: 0 } };
  const differences: number[] = [];
  let last: Mode | undefined;
  for (let pair = 0; pair < pairs; pair++) {
    for (const mode of pairOrder(pair)) {
      await switchLogging(target, server, mode, last);
      last = mode;
      const serverBefore = await server.cpuMicros();
      const databaseBefore = await target.databaseCpu(server);
      rounds[mode].push(await runOpenLoop({ url, ratePerSecond, durationSeconds: seconds }));
      await new Promise((resolve) => setTimeout(resolve, 700)); // the round's last flush
      cpu[mode].server += (await server.cpuMicros()) - serverBefore;
      cpu[mode].database += cpuUsedSince(databaseBefore, await target.databaseCpu(server));
    }
    differences.push((rounds.on.at(-1)?.p99Ms ?? 0) - (rounds.off.at(-1)?.p99Ms ?? 0));
  }
  say(`open loop p99 on - off by pair: ${differences.map((d) => `${d >= 0 ? '+' : ''}${d.toFixed(2)}`).join(' ')} ms`);
  return { rounds, byPair: differences, cpu };
}

/** CPU (µs) one side's open-loop rounds cost, summed: the server process's and the database's. */
type OpenLoopCpu = { server: number; database: number };

function pool(rounds: OpenLoopResult[]): OpenLoopResult {
  const latencies = pooled(rounds.map((r) => r.latencies));
  return {
    requests: latencies.length,
    failures: rounds.reduce((a, r) => a + r.failures, 0),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxSendLagMs: Math.max(...rounds.map((r) => r.maxSendLagMs)),
    latencies,
  };
}

async function measure(target: Target, rounds: Rounds): Promise<Verdict[]> {
  const { seconds, pairs } = rounds;
  // The route is /api/health with the exclusion lifted: one database query, the whole stack.
  say(`${target.label}: starting the bundle`);
  const server = await startServerChild('bench/servers/bundle.ts', {
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    JWT_SECRET: jwtSecretForScratch(),
    THROTTLE_LIMIT: '0',
    REQUEST_LOG_EXCLUDE: EXCLUDE.off.join(','),
    ...target.serverEnv(),
  });
  let closed: Pairs<Side>;
  let open: Awaited<ReturnType<typeof openLoopOnOff>>;
  let openRate: number;
  try {
    say(`${target.label}: logging off and on, ${pairs} pairs of ${seconds} s rounds, saturated`);
    closed = await onOff(target, server, rounds);
    openRate = Math.round(combine(closed.rounds.off).requestsPerSecond * OPEN_LOOP_SHARE);
    say(`${target.label}: open loop at ${openRate} req/s, ${pairs} pairs of ${seconds} s rounds`);
    open = await openLoopOnOff(target, server, openRate, rounds);
  } finally {
    await server.stop();
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

  const load = { off: combine(closed.rounds.off), on: combine(closed.rounds.on) };
  const latency = { off: pool(open.rounds.off), on: pool(open.rounds.on) };
  const ratio = ratioWithInterval(closed.byPair);
  const interval = `95% interval ${ratio.low.toFixed(2)}-${ratio.high.toFixed(2)}`;
  console.log(`\n${target.label}; load average ${(loadavg()[0] ?? 0).toFixed(1)} on ${cpus().length} cores\n`);
  console.log(
    `GET /api/health (two small queries), 100 connections, one server with logging switched off and on ` +
      `between rounds, ${pairs} pairs of ${seconds} s; req/s and CPU averaged over each side's rounds\n`,
  );
  const cpu = (side: Side) => side.serverCpuPerRequest + side.databaseCpuPerRequest;
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
        load[mode].databaseCpuPerRequest.toFixed(0),
      ]),
    ),
  );
  console.log(
    `\nreq/s on / off, geometric mean of the ${pairs} pairs: ${ratio.ratio.toFixed(3)}x (${interval})` +
      `\nCPU per request, server + database: off ${cpu(load.off).toFixed(0)} µs, on ${cpu(load.on).toFixed(0)} µs: ` +
      `${(cpu(load.off) / cpu(load.on)).toFixed(2)}x the requests per CPU-second with logging on`,
  );
  console.log(
    `\nGET /api/health at a fixed ${openRate.toLocaleString('en-US')} req/s (${OPEN_LOOP_SHARE * 100}% of logging off's req/s above), ` +
      `latency from when each request was due, ${pairs} pairs of ${seconds} s; percentiles over each side's rounds pooled\n`,
  );
  console.log(
    formatTable(
      ['', 'answers', 'p50 ms', 'p99 ms', 'failed', 'generator lag max ms', 'server CPU µs/req', 'database CPU µs/req'],
      (['off', 'on'] as const).map((mode) => [
        `logging ${mode}`,
        latency[mode].requests.toLocaleString('en-US'),
        latency[mode].p50Ms.toFixed(2),
        latency[mode].p99Ms.toFixed(2),
        String(latency[mode].failures),
        latency[mode].maxSendLagMs.toFixed(1),
        (open.cpu[mode].server / Math.max(1, latency[mode].requests)).toFixed(0),
        (open.cpu[mode].database / Math.max(1, latency[mode].requests)).toFixed(0),
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

  const pooledExtra = latency.on.p99Ms - latency.off.p99Ms;
  const extra = medianWithInterval(open.byPair);
  const signed = (ms: number) => `${ms >= 0 ? '+' : ''}${ms.toFixed(2)}`;
  console.log(
    `p99 on - off, median of the ${pairs} pairs: ${signed(extra.median)} ms (95% interval ${signed(extra.low)} to ${signed(extra.high)}); ` +
      `over each side's rounds pooled: ${signed(pooledExtra)} ms\n`,
  );
  // PGlite is the development database (npm run dev, the demo): its own UNNEST anchor is under
  // 100k rows/s, so no writer could reach the target there; its figures are printed above.
  const writerTarget = target.kind === 'postgres';
  if (!writerTarget)
    console.log(`writer rows/s: no target on ${target.kind}, the development database (its anchors above)\n`);
  return [
    {
      bench: 'logging',
      target: `${target.kind}: logging on / off req/s >= ${MIN_RATIO}x`,
      measured: `${ratio.ratio.toFixed(2)}x (${interval}; requests per CPU-second: ${(cpu(load.off) / cpu(load.on)).toFixed(2)}x; ${closed.dropped} log rows dropped)`,
      // a writer that dropped rows did less work than logging asks for
      pass: ratio.ratio >= MIN_RATIO && load.on.failures === 0 && load.off.failures === 0 && closed.dropped === 0,
    },
    {
      bench: 'logging',
      target: `${target.kind}: logging adds < ${MAX_EXTRA_P99_MS} ms at p99`,
      measured: `${signed(extra.median)} ms at ${openRate} req/s, open loop, median of the pairs' p99 differences (95% interval ${signed(extra.low)} to ${signed(extra.high)}; pooled p99 ${latency.off.p99Ms.toFixed(2)} -> ${latency.on.p99Ms.toFixed(2)} ms, ${signed(pooledExtra)}; saturated, closed loop: ${load.off.p99Ms.toFixed(2)} -> ${load.on.p99Ms.toFixed(2)} ms)`,
      pass: extra.median < MAX_EXTRA_P99_MS && latency.on.failures === 0 && latency.off.failures === 0,
    },
    ...(writerTarget
      ? [
          {
            bench: 'logging',
            target: `${target.kind}: writer >= ${MIN_ROWS_PER_SECOND / 1000}k rows/s`,
            measured: `${Math.round(writer ?? 0).toLocaleString('en-US')} rows/s (UNNEST anchor ${Math.round(unnest ?? 0).toLocaleString('en-US')}, plain INSERT ${Math.round(plain ?? 0).toLocaleString('en-US')})`,
            pass: (writer ?? 0) >= MIN_ROWS_PER_SECOND,
          },
        ]
      : []),
  ];
}

export async function run(): Promise<Verdict[]> {
  const rounds: Rounds = {
    seconds: positiveNumberFromEnv('BENCH_DURATION', 3),
    pairs: Math.round(positiveNumberFromEnv('BENCH_PAIRS', PAIRS)),
  };
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
      verdicts.push(...(await measure(target, rounds)));
    } finally {
      await target.remove();
    }
  }
  return verdicts;
}
