// JSON route through the full bundle middleware stack vs the same route on bare Hono and Fastify.
import { httpGet } from './support/http-probe.ts';
import { jwtSecretForScratch } from './support/jwt-secret.ts';
import { type LoadResult, runLoad } from './support/load.ts';
import { scratchDir } from './support/paths.ts';
import { BENCH_JSON, BENCH_JSON_PATH } from './support/payload.ts';
import { progress } from './support/progress.ts';
import { startServerChild } from './support/server-child.ts';
import { positiveNumberFromEnv } from './support/settings.ts';
import { formatTable } from './support/table.ts';
import type { Verdict } from './support/verdict.ts';

const CONNECTIONS = 100;
const WARMUP_SECONDS = 2;
/** DESIGN.md budgets: the bundle keeps 85% of bare Hono's throughput and adds at most 1 ms at p99. */
const MIN_THROUGHPUT_RATIO = 0.85;
const MAX_P99_OVERHEAD_MS = 1;
/** High enough that the limiter counts every request (its real cost) but never answers 429. */
const UNREACHABLE_THROTTLE_LIMIT = '1000000000';

type Contender = { label: string; entry: string; env?: NodeJS.ProcessEnv };

/**
 * The server's CPU time per request rides along with req/s: on a shared machine throughput
 * moves with whatever else runs, CPU per request much less.
 */
type Measurement = LoadResult & { cpuMicrosPerRequest: number };

const say = progress('http');

export async function run(): Promise<Verdict[]> {
  const durationSeconds = positiveNumberFromEnv('BENCH_DURATION', 10);
  const dataDir = scratchDir('http');
  try {
    const externalDb = Boolean(process.env.DATABASE_URL || process.env.DATABASE_HOST);
    say(
      externalDb
        ? 'database for the bundle: DATABASE_URL (migrated on start; the rate limiter writes its counters there)'
        : `database for the bundle: embedded PGlite in ${dataDir.path}`,
    );
    const bundleEnv = {
      DATA_DIR: dataDir.path,
      HOST: '127.0.0.1',
      LOCAL_PG_PORT: '0',
      // info is the production default; the access log writes per request only at debug.
      LOG_LEVEL: 'info',
      JWT_SECRET: jwtSecretForScratch(),
      THROTTLE_LIMIT: UNREACHABLE_THROTTLE_LIMIT,
    };
    const hono: Contender = { label: 'bare Hono (@hono/node-server)', entry: 'bench/servers/hono.ts' };
    const fastify: Contender = { label: 'Fastify', entry: 'bench/servers/fastify.ts' };
    const bundle: Contender = {
      label: 'Opsbase bundle (full stack)',
      entry: 'bench/servers/bundle.ts',
      env: bundleEnv,
    };
    // Not a budget: splits the bundle's cost into the middleware and the rate limiter's
    // per-request Postgres upsert (every /api/* request pays it).
    const bundleNoLimiter: Contender = {
      label: 'Opsbase bundle, THROTTLE_LIMIT=0',
      entry: 'bench/servers/bundle.ts',
      env: { ...bundleEnv, THROTTLE_LIMIT: '0' },
    };

    // One server at a time, so none competes with another for the cores; the bundle first, so
    // a bundle that cannot start fails the run before the anchors' minutes are spent.
    const measured = new Map<Contender, Measurement>();
    for (const contender of [bundle, bundleNoLimiter, hono, fastify]) {
      measured.set(contender, await measure(contender, durationSeconds));
    }
    const results = [hono, fastify, bundle, bundleNoLimiter].map((c) => [c, measured.get(c)!] as const);
    const honoResult = measured.get(hono)!;
    const bundleResult = measured.get(bundle)!;

    console.log(
      `\nGET ${BENCH_JSON_PATH}, ${CONNECTIONS} connections, ${durationSeconds} s each after a ${WARMUP_SECONDS} s warm-up\n`,
    );
    console.log(
      formatTable(
        ['server', 'req/s', 'p50 ms', 'p99 ms', 'vs Hono', 'CPU µs/req', 'failed'],
        results.map(([contender, result]) => [
          contender.label,
          Math.round(result.requestsPerSecond).toLocaleString('en-US'),
          result.p50Ms.toFixed(2),
          result.p99Ms.toFixed(2),
          `${(result.requestsPerSecond / honoResult.requestsPerSecond).toFixed(2)}x`,
          result.cpuMicrosPerRequest.toFixed(1),
          String(result.failures),
        ]),
      ),
    );
    console.log('');
    if (results.some(([, result]) => result.failures > 0)) {
      say('some requests failed (see "failed"): the numbers are not comparable');
    }

    const throughputRatio = bundleResult.requestsPerSecond / honoResult.requestsPerSecond;
    const p99OverheadMs = bundleResult.p99Ms - honoResult.p99Ms;
    return [
      {
        bench: 'http',
        target: `bundle / bare Hono req/s >= ${MIN_THROUGHPUT_RATIO}x`,
        measured: `${throughputRatio.toFixed(2)}x`,
        pass: throughputRatio >= MIN_THROUGHPUT_RATIO,
      },
      {
        bench: 'http',
        target: `bundle p99 - bare Hono p99 <= ${MAX_P99_OVERHEAD_MS} ms`,
        measured: `${p99OverheadMs >= 0 ? '+' : ''}${p99OverheadMs.toFixed(2)} ms`,
        pass: p99OverheadMs <= MAX_P99_OVERHEAD_MS,
      },
    ];
  } finally {
    dataDir.remove();
  }
}

async function measure(contender: Contender, durationSeconds: number): Promise<Measurement> {
  say(`${contender.label}: starting ${contender.entry}`);
  const started = performance.now();
  const server = await startServerChild(contender.entry, contender.env);
  try {
    say(`${contender.label}: listening on ${server.url} after ${((performance.now() - started) / 1000).toFixed(1)} s`);
    await expectBenchJson(server.port);
    const url = `${server.url}${BENCH_JSON_PATH}`;
    say(`${contender.label}: warming up for ${WARMUP_SECONDS} s`);
    await runLoad({ url, connections: CONNECTIONS, durationSeconds: WARMUP_SECONDS });
    say(`${contender.label}: measuring for ${durationSeconds} s`);
    const cpuBefore = await server.cpuMicros();
    const result = await runLoad({ url, connections: CONNECTIONS, durationSeconds });
    const cpuMicrosPerRequest = ((await server.cpuMicros()) - cpuBefore) / result.requests;
    say(`${contender.label}: ${Math.round(result.requestsPerSecond).toLocaleString('en-US')} req/s`);
    return { ...result, cpuMicrosPerRequest };
  } finally {
    await server.stop();
  }
}

/** Guards against benchmarking an error page: every server must answer the same 200 and body. */
async function expectBenchJson(port: number): Promise<void> {
  const { status, body } = await httpGet(port, BENCH_JSON_PATH);
  if (status !== 200 || body !== JSON.stringify(BENCH_JSON)) {
    throw new Error(
      `GET ${BENCH_JSON_PATH} answered ${status} ${body.slice(0, 200)}, expected 200 with the bench JSON`,
    );
  }
}
