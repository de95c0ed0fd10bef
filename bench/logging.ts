// Request logging's cost: the same one-query route with logging on and off, in one run; and the
// writer's throughput beside a plain multi-row INSERT and an UNNEST insert of the same rows.
import { sql } from 'kysely';
import { createDb, createPool, type Db } from '../lib/db/connection.ts';
import { migrateOrThrow } from '../lib/db/migrate.ts';
import { type RequestLogEntry, RequestLogWriter } from '../lib/observability/request-log-writer.ts';
import { startEmbeddedPostgres } from '../local/embedded-postgres.ts';
import { jwtSecretForScratch } from './support/jwt-secret.ts';
import { runLoad } from './support/load.ts';
import { scratchDir } from './support/paths.ts';
import { progress } from './support/progress.ts';
import { startServerChild } from './support/server-child.ts';
import { positiveNumberFromEnv } from './support/settings.ts';
import { formatTable } from './support/table.ts';
import type { Verdict } from './support/verdict.ts';

const say = progress('logging');
const ROWS = 50_000;

const entry = (i: number): RequestLogEntry => ({
  createdAt: new Date(Date.now() - i),
  method: 'GET',
  path: `/api/leads/${i}`,
  route: '/api/leads/:id',
  status: i % 50 === 0 ? 500 : 200,
  durationMs: (i % 97) / 3,
  userId: null,
  ip: '203.0.113.7',
  requestId: `req-${i}`,
  errorCode: null,
  errorMessage: null,
});

async function timed(what: string, work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  say(`${what}: ${Math.round(ROWS / seconds).toLocaleString('en-US')} rows/s`);
  return ROWS / seconds;
}

async function writerThroughput(db: Db): Promise<[string, number][]> {
  const rows = Array.from({ length: ROWS }, (_, i) => entry(i));
  const writer = new RequestLogWriter({ maxBuffered: ROWS });
  const viaWriter = await timed('writer (up to 5,000 rows a statement + rollup)', async () => {
    for (const r of rows) writer.add(r);
    await writer.drain(db);
  });
  const values = async () => {
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
            ip: e.ip,
            request_id: e.requestId,
          })),
        )
        .execute();
    }
  };
  const plain = await timed('plain multi-row INSERT (500 per statement)', values);
  const unnest = await timed('UNNEST insert (5,000 per statement)', async () => {
    for (let i = 0; i < rows.length; i += 5000) {
      const chunk = rows.slice(i, i + 5000);
      await sql`insert into request_logs (created_at, method, path, route, status, duration_ms, ip, request_id)
        select * from unnest(${chunk.map((e) => e.createdAt.toISOString())}::timestamptz[], ${chunk.map((e) => e.method)}::text[],
          ${chunk.map((e) => e.path)}::text[], ${chunk.map((e) => e.route)}::text[], ${chunk.map((e) => e.status)}::smallint[],
          ${chunk.map((e) => e.durationMs)}::real[], ${chunk.map((e) => e.ip)}::text[], ${chunk.map((e) => e.requestId)}::text[])`.execute(
        db,
      );
    }
  });
  return [
    ['RequestLogWriter (with rollup)', viaWriter],
    ['plain multi-row INSERT (anchor)', plain],
    ['UNNEST insert (anchor)', unnest],
  ];
}

export async function run(): Promise<Verdict[]> {
  const durationSeconds = positiveNumberFromEnv('BENCH_DURATION', 10);
  const dataDir = scratchDir('logging');
  try {
    const common = {
      DATA_DIR: dataDir.path,
      HOST: '127.0.0.1',
      LOCAL_PG_PORT: '0',
      LOG_LEVEL: 'info',
      JWT_SECRET: jwtSecretForScratch(),
      THROTTLE_LIMIT: '0',
    };
    const results: [string, Awaited<ReturnType<typeof runLoad>>][] = [];
    // The route is /api/health with the exclusion lifted: one database query, the whole stack.
    for (const [label, exclude] of [
      ['logging on', '/api/none'],
      ['logging off', '/api'],
    ] as const) {
      say(`${label}: starting the bundle`);
      const server = await startServerChild('bench/servers/bundle.ts', { ...common, REQUEST_LOG_EXCLUDE: exclude });
      try {
        const url = `${server.url}/api/health`;
        await runLoad({ url, connections: 100, durationSeconds: 2 });
        results.push([label, await runLoad({ url, connections: 100, durationSeconds })]);
      } finally {
        await server.stop();
      }
    }
    console.log(`\nGET /api/health (one query), 100 connections, ${durationSeconds} s each\n`);
    console.log(
      formatTable(
        ['', 'req/s', 'p50 ms', 'p99 ms', 'failed'],
        results.map(([l, r]) => [
          l,
          Math.round(r.requestsPerSecond).toLocaleString('en-US'),
          r.p50Ms.toFixed(2),
          r.p99Ms.toFixed(2),
          String(r.failures),
        ]),
      ),
    );

    say('writer throughput on a fresh embedded PGlite');
    const embedded = await startEmbeddedPostgres({ dataDir: `${dataDir.path}/writer`, port: 0 });
    const db = createDb(createPool(embedded.url, { max: 1 }));
    let throughput: [string, number][];
    try {
      await migrateOrThrow(db);
      throughput = await writerThroughput(db);
    } finally {
      await db.destroy();
      await embedded.stop();
    }
    console.log(`\n${ROWS.toLocaleString('en-US')} rows each\n`);
    console.log(
      formatTable(
        ['', 'rows/s'],
        throughput.map(([l, n]) => [l, Math.round(n).toLocaleString('en-US')]),
      ),
    );
    console.log('');

    const [on, off] = results.map(([, r]) => r);
    const ratio = (on?.requestsPerSecond ?? 0) / (off?.requestsPerSecond ?? 1);
    const extraP99 = (on?.p99Ms ?? 0) - (off?.p99Ms ?? 0);
    const writerRate = throughput[0]?.[1] ?? 0;
    return [
      {
        bench: 'logging',
        target: 'logging on / off req/s >= 0.95x',
        measured: `${ratio.toFixed(2)}x`,
        pass: ratio >= 0.95,
      },
      {
        bench: 'logging',
        target: 'logging adds < 1 ms at p99',
        measured: `${extraP99 >= 0 ? '+' : ''}${extraP99.toFixed(2)} ms`,
        pass: extraP99 < 1,
      },
      {
        bench: 'logging',
        target: 'writer >= 100k rows/s',
        measured: `${Math.round(writerRate).toLocaleString('en-US')} rows/s`,
        pass: writerRate >= 100_000,
      },
    ];
  } finally {
    dataDir.remove();
  }
}
