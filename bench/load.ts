// `npm run bench -- load`: BENCH_USERS (100) virtual users for BENCH_DURATION s (60) against the
// Node server in its own process (functions/node.ts, as `npm start` runs it), on a database of 1M
// leads, 100k tasks and 10M request log rows: login, lead and task lists and details, lead edits,
// task completions and the admin views, per route count, errors, p50/p95/p99. On real PostgreSQL
// (a kept database, opsbase_bench_load on 127.0.0.1:5432) and on the PGlite dev stack (the
// embedded server in its own process, as `npm run dev` runs it, data kept in .cache/).
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../lib/auth/password.ts';
import { parseConfig } from '../lib/config.ts';
import { createDb, createPool, type Db } from '../lib/db/connection.ts';
import { migrateOrThrow } from '../lib/db/migrate.ts';
import { startLocalStack } from '../local/stack.ts';
import { processCpuMicros } from './support/backend-cpu.ts';
import { childFailure, spawnTsChild } from './support/child.ts';
import { onCleanup } from './support/cleanup.ts';
import { freePort } from './support/free-port.ts';
import { httpGet } from './support/http-probe.ts';
import {
  type LoadDatasetSize,
  readLoadDataset,
  reopenLoadTasks,
  sameSize,
  seedLoadDataset,
  setLoadPassword,
} from './support/load-dataset.ts';
import { LOCAL_SERVER, localServerVersion, onLocalServer } from './support/local-postgres.ts';
import { ROOT } from './support/paths.ts';
import { progress } from './support/progress.ts';
import { positiveNumberFromEnv } from './support/settings.ts';
import { formatTable } from './support/table.ts';
import type { Verdict } from './support/verdict.ts';
import { figuresByRoute, type LoadSample, loadAccounts, runVirtualUsers } from './support/virtual-users.ts';

const say = progress('load');
const P95_MS = 50;
const P99_MS = 150;
const LOGIN_ROUTE = 'POST /api/auth/login';
const ms = (n: number) => n.toFixed(1);
const REQUEST_TIMEOUT_MS = 10_000;
const POSTGRES_DATABASE = 'opsbase_bench_load';
const PGLITE_DIR = join(ROOT, '.cache', 'bench-load-pglite');
const START_TIMEOUT_MS = 120_000;
/** Users arrive (each logging in) over this before the measured duration: 5 logins a second for 100. */
const RAMP_MS = 20_000;

type Backend = {
  kind: 'postgres' | 'pglite';
  label: string;
  databaseUrl: string;
  size: LoadDatasetSize;
  stop(): Promise<void>;
};

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

function settings() {
  return {
    users: positiveNumberFromEnv('BENCH_USERS', 100),
    durationSeconds: positiveNumberFromEnv('BENCH_DURATION', 60),
    thinkMs: Number(process.env.BENCH_THINK_MS?.trim() || 2000),
    size: {
      leads: positiveNumberFromEnv('BENCH_LEADS', 1_000_000),
      tasks: positiveNumberFromEnv('BENCH_TASKS', 100_000),
      logRows: positiveNumberFromEnv('BENCH_LOG_ROWS', 10_000_000),
    },
    // 10M rows take PGlite about 25 minutes (it writes ~7k rows/s here): fewer by default there.
    pgliteLogRows: positiveNumberFromEnv('BENCH_PGLITE_LOG_ROWS', 1_000_000),
  };
}

/** Brings the database to the wanted size: reused when a finished seed of that size is there, else made afresh. */
async function prepare(
  open: () => Promise<Db>,
  recreate: () => Promise<void>,
  size: LoadDatasetSize,
  passwordHash: string,
  connections: number,
): Promise<void> {
  let db = await open();
  try {
    const existing = await readLoadDataset(db);
    if (existing?.status === 'done' && sameSize(existing, size)) {
      say(`reusing the dataset seeded in ${Math.round(existing.seconds)} s; reopening tasks earlier runs completed`);
      say(`${count(await reopenLoadTasks(db))} tasks reopened`);
      await setLoadPassword(db, passwordHash);
      return;
    }
    say(existing ? 'the database holds another size: recreating it' : 'seeding a fresh database');
    await db.destroy();
    await recreate();
    db = await open();
    const seconds = await seedLoadDataset(db, size, { passwordHash, connections, say });
    say(`seeded in ${Math.round(seconds)} s`);
  } finally {
    await db.destroy();
  }
}

async function postgresBackend(size: LoadDatasetSize, passwordHash: string, version: string): Promise<Backend> {
  const url = LOCAL_SERVER.replace(/\/postgres$/, `/${POSTGRES_DATABASE}`);
  const create = () =>
    onLocalServer(`create database ${POSTGRES_DATABASE}`).catch((error: { code?: string }) => {
      if (error.code !== '42P04') throw error; // already there: reused
    });
  await create();
  const open = async () => {
    const db = createDb(createPool(url, { max: 2 }));
    await migrateOrThrow(db);
    return db;
  };
  const recreate = async () => {
    await onLocalServer(`drop database if exists ${POSTGRES_DATABASE} with (force)`);
    await create();
  };
  await prepare(open, recreate, size, passwordHash, 2);
  return {
    kind: 'postgres',
    label: `PostgreSQL ${version} on 127.0.0.1:5432, database ${POSTGRES_DATABASE}`,
    databaseUrl: url,
    size,
    stop: async () => {},
  };
}

/** The dev stack as `npm run dev` starts it: PGlite served in its own process, and the S3 emulator. */
async function pgliteBackend(size: LoadDatasetSize, passwordHash: string): Promise<Backend> {
  const config = parseConfig({
    DATA_DIR: PGLITE_DIR,
    LOCAL_PG_PORT: '0',
    LOCAL_S3_PORT: '0',
    JWT_SECRET: 'x'.repeat(32),
  });
  const start = () =>
    startLocalStack(config, {
      bucket: 'opsbase',
      onCrash: (what, code) => say(`${what} exited unexpectedly (${code})`),
    });
  let stack = await start();
  const forget = onCleanup(() => stack.stop());
  const open = async () => {
    const db = createDb(createPool(stack.databaseUrl, { max: 1 }));
    await migrateOrThrow(db);
    return db;
  };
  const recreate = async () => {
    await stack.stop();
    rmSync(PGLITE_DIR, { recursive: true, force: true });
    stack = await start();
  };
  await prepare(open, recreate, size, passwordHash, 1);
  return {
    kind: 'pglite',
    label: `PGlite dev stack (embedded server in its own process, ${PGLITE_DIR})`,
    databaseUrl: stack.databaseUrl,
    size,
    stop: async () => {
      forget();
      await stack.stop();
    },
  };
}

/** functions/node.ts in its own process, as `npm start` runs it; resolves once /api/health answers 200. */
async function startServer(env: Record<string, string>) {
  const port = await freePort();
  const child = spawnTsChild('functions/node.ts', { env: { ...process.env, ...env, PORT: String(port) } });
  const started = Date.now();
  for (;;) {
    if (child.process.exitCode !== null) throw childFailure('functions/node.ts', child, 'exited before answering');
    const health = await httpGet(port, '/api/health').catch(() => undefined);
    if (health?.status === 200) break;
    if (Date.now() - started > START_TIMEOUT_MS) {
      await child.stop();
      throw childFailure('functions/node.ts', child, `was not healthy within ${START_TIMEOUT_MS / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { ...child, url: `http://127.0.0.1:${port}` };
}

async function measure(
  backend: Backend,
  options: {
    users: number;
    durationSeconds: number;
    thinkMs: number;
    password: string;
    jwtSecret: string;
    hashMs: number;
  },
): Promise<Verdict[]> {
  say(`starting functions/node.ts on ${backend.label}`);
  const server = await startServer({
    DATABASE_URL: backend.databaseUrl,
    JWT_SECRET: options.jwtSecret,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ENABLE_SCHEDULED_TASKS: 'false',
    // Each virtual user sends from an address of its own (X-Forwarded-For from loopback, which is
    // trusted); the limiter stays on, with room for a user that clicks every 250 ms.
    THROTTLE_LIMIT: '100000',
  });
  let samples: LoadSample[];
  let serverCpuMicros = 0;
  const loadBefore = load();
  try {
    const pid = server.process.pid as number;
    const cpuBefore = processCpuMicros(pid);
    say(
      `${options.users} users arriving over ${RAMP_MS / 1000} s, then all of them for ${options.durationSeconds} s; 0-${options.thinkMs} ms between a user's actions`,
    );
    samples = await runVirtualUsers({
      baseUrl: server.url,
      accounts: loadAccounts(options.users),
      password: options.password,
      durationMs: options.durationSeconds * 1000,
      thinkMs: options.thinkMs,
      rampMs: RAMP_MS,
      timeoutMs: REQUEST_TIMEOUT_MS,
      onProgress: (so, ms) =>
        say(
          `${Math.round(ms / 1000)} s: ${count(so.length)} requests, ${so.filter((s) => s.problem).length} errors, load average ${load()}`,
        ),
    });
    serverCpuMicros = processCpuMicros(pid) - cpuBefore;
  } finally {
    const code = await server.stop();
    if (code !== 0) say(`the server exited with ${code}; its output:\n${server.output().trim()}`);
  }
  const loadAfter = load();

  const figures = figuresByRoute(samples).sort((a, b) => a.route.localeCompare(b.route));
  const total = samples.length;
  const errors = samples.filter((s) => s.problem).length;
  const all = figuresByRoute(samples.map((s) => ({ ...s, route: 'all' })))[0];
  const { size } = backend;
  console.log(
    `\n${backend.label}: ${count(size.leads)} leads, ${count(size.tasks)} tasks, ${count(size.logRows)} request log rows; ` +
      `${options.users} users (arriving over ${RAMP_MS / 1000} s) for ${options.durationSeconds} s, think 0-${options.thinkMs} ms; ` +
      `load average (1/5/15 min) ${loadBefore} before, ${loadAfter} after\n`,
  );
  console.log(
    formatTable(
      ['route', 'count', 'errors', 'p50 ms', 'p95 ms', 'p99 ms'],
      [...figures, ...(all ? [all] : [])].map((f) => [
        f.route,
        count(f.count),
        String(f.errors),
        ms(f.p50),
        ms(f.p95),
        ms(f.p99),
      ]),
    ),
  );
  // Unlike latency, the server's own CPU per request holds steady when other work shares the machine.
  console.log(
    `\n${count(total / (options.durationSeconds + RAMP_MS / 1000))} requests/s over the ramp and the run; ` +
      `server process CPU ${(serverCpuMicros / 1000 / Math.max(1, total)).toFixed(2)} ms per request (logins included)`,
  );
  for (const f of figures) for (const problem of f.problems) console.log(`  ${f.route}: ${problem}`);
  console.log('');

  // A login is the password hash's work factor (PBKDF2, PASSWORD_ITERATIONS) by design: it is
  // judged against one hash measured in this run, the other routes against the budgets.
  const login = figures.find((f) => f.route === LOGIN_ROUTE);
  const routes = figures.filter((f) => f.route !== LOGIN_ROUTE);
  const slow95 = routes.filter((f) => f.p95 >= P95_MS);
  const slow99 = routes.filter((f) => f.p99 >= P99_MS);
  const names = (list: typeof figures, key: 'p95' | 'p99') => list.map((f) => `${f.route} ${ms(f[key])}`).join(', ');
  const on = backend.kind === 'postgres' ? 'PostgreSQL' : 'PGlite';
  return [
    {
      bench: 'load',
      target: `${on}: zero errors over ${options.users} users x ${options.durationSeconds} s`,
      measured: `${errors} of ${count(total)} requests failed`,
      pass: errors === 0 && total > 0,
    },
    {
      bench: 'load',
      target: `${on}: p95 < ${P95_MS} ms on every route but login`,
      measured: slow95.length
        ? `${routes.length - slow95.length} of ${routes.length} routes; over: ${names(slow95, 'p95')} ms`
        : `all ${routes.length} routes (slowest ${ms(Math.max(...routes.map((f) => f.p95)))} ms)`,
      pass: slow95.length === 0,
    },
    {
      bench: 'load',
      target: `${on}: p99 < ${P99_MS} ms on every route but login`,
      measured: slow99.length
        ? `${routes.length - slow99.length} of ${routes.length} routes; over: ${names(slow99, 'p99')} ms`
        : `all ${routes.length} routes (slowest ${ms(Math.max(...routes.map((f) => f.p99)))} ms)`,
      pass: slow99.length === 0,
    },
    {
      bench: 'load',
      target: `${on}: login p95 < one password hash + ${P95_MS} ms (${ms(options.hashMs)} + ${P95_MS} ms)`,
      measured: login ? `p95 ${ms(login.p95)} ms, p99 ${ms(login.p99)} ms` : 'no login was made',
      pass: login !== undefined && login.p95 < options.hashMs + P95_MS,
    },
  ];
}

export async function run(): Promise<Verdict[]> {
  const s = settings();
  const password = randomBytes(12).toString('base64url');
  const jwtSecret = randomBytes(32).toString('base64url');
  // The accounts' hash at the server's own PBKDF2 cost, so a login costs what it costs in production.
  const serverPolicy = parseConfig({ JWT_SECRET: jwtSecret, PASSWORD_ITERATIONS: process.env.PASSWORD_ITERATIONS });
  const passwordHash = await hashPassword(password, serverPolicy.auth.password);
  // The anchor for logins: one hash at that cost on this machine now (median of 5).
  const hashTimes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    await hashPassword(password, serverPolicy.auth.password);
    hashTimes.push(performance.now() - started);
  }
  const hashMs = hashTimes.sort((a, b) => a - b)[2] as number;
  say(
    `login cost: PBKDF2 at ${count(serverPolicy.auth.password.iterations)} iterations (PASSWORD_ITERATIONS), one hash ${ms(hashMs)} ms here`,
  );
  const only = process.env.BENCH_LOAD_DATABASE?.trim();
  const verdicts: Verdict[] = [];

  const version = only === 'pglite' ? null : await localServerVersion();
  if (version) {
    say(`PostgreSQL ${version} answers on 127.0.0.1:5432: database ${POSTGRES_DATABASE}`);
    const backend = await postgresBackend(s.size, passwordHash, version);
    verdicts.push(...(await measure(backend, { ...s, password, jwtSecret, hashMs })));
  } else if (only !== 'pglite') {
    say('no PostgreSQL on 127.0.0.1:5432: PGlite only');
  }
  if (only !== 'postgres') {
    const size = { ...s.size, logRows: Math.min(s.size.logRows, s.pgliteLogRows) };
    if (size.logRows < s.size.logRows) {
      say(
        `PGlite: ${count(size.logRows)} request log rows instead of ${count(s.size.logRows)} (it writes ~7k rows/s; BENCH_PGLITE_LOG_ROWS)`,
      );
    }
    const backend = await pgliteBackend(size, passwordHash);
    try {
      verdicts.push(...(await measure(backend, { ...s, password, jwtSecret, hashMs })));
    } finally {
      await backend.stop();
    }
  }
  return verdicts;
}
