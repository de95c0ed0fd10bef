// The vending lists under load: GET /api/machines (a manager) and GET /api/tasks (an operator's
// own tasks) at 100 connections over 300 machines and 100,000 tasks, beside the health route and a
// static asset (no database) measured in the same run. Embedded PGlite by default; with DATABASE_URL, a scratch
// database created on that server (and dropped afterwards).
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { signAccessToken } from '../lib/auth/tokens.ts';
import { parseConfig } from '../lib/config.ts';
import { createDb, createPool, type Db } from '../lib/db/connection.ts';
import { migrateOrThrow } from '../lib/db/migrate.ts';
import { startEmbeddedPostgres } from '../local/embedded-postgres.ts';
import { jwtSecretForScratch } from './support/jwt-secret.ts';
import { runLoad } from './support/load.ts';
import { scratchDir } from './support/paths.ts';
import { progress } from './support/progress.ts';
import { startServerChild } from './support/server-child.ts';
import { positiveNumberFromEnv } from './support/settings.ts';
import { formatTable } from './support/table.ts';
import type { Verdict } from './support/verdict.ts';

const CONNECTIONS = 100;
const MACHINES = 300;
const TASKS = 100_000;
const OPERATORS = 50;
const TARGET_P95_MS = 20;
const say = progress('vending');

/** 300 machines at 30 locations; 100k tasks over 50 operators, due within +-30 days, in every state. */
export async function seedFleet(db: Db): Promise<{ managerId: string; operatorId: string }> {
  await sql`insert into users (email, name, role, password_hash)
    select 'bench-op-' || n || '@example.com', 'Operator ' || n, 'operator', 'x' from generate_series(1, ${OPERATORS}) n`.execute(
    db,
  );
  const manager = await db
    .insertInto('users')
    .values({ email: 'bench-manager@example.com', name: 'Manager', role: 'manager', password_hash: 'x' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await sql`insert into locations (code, name) select 'LOC-' || lpad(n::text, 3, '0'), 'Location ' || n from generate_series(1, 30) n`.execute(
    db,
  );
  await sql`insert into machines (code, name, location_id, status)
    select 'M-' || lpad(n::text, 4, '0'), 'Machine ' || n,
      (select id from locations order by code offset (n % 30) limit 1),
      (array['active','active','active','maintenance','offline'])[1 + n % 5]
    from generate_series(1, ${MACHINES}) n`.execute(db);
  await sql`with m as (select id, row_number() over (order by code) - 1 as i from machines),
      o as (select id, row_number() over (order by email) - 1 as i from users where role = 'operator')
    insert into tasks (machine_id, type, status, assigned_to, due_at, completed_at)
    select m.id, (array['refill','collection','maintenance'])[1 + n % 3],
      s.status, o.id, now() + ((n % 1440) - 720) * interval '1 hour',
      case when s.status = 'completed' then now() - (n % 720) * interval '1 hour' end
    from generate_series(1, ${TASKS}) n
    join m on m.i = n % ${MACHINES}
    join o on o.i = n % ${OPERATORS}
    cross join lateral (select (array['assigned','assigned','overdue','completed','completed','cancelled'])[1 + n % 6] as status) s`.execute(
    db,
  );
  await sql`analyze`.execute(db);
  const operator = await db
    .selectFrom('users')
    .select('id')
    .where('email', '=', 'bench-op-1@example.com')
    .executeTakeFirstOrThrow();
  return { managerId: manager.id, operatorId: operator.id };
}

/** A scratch database on the DATABASE_URL server, dropped by the returned function. */
async function scratchPostgres(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `opsbase_bench_vending_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const scratch = new URL(url);
  scratch.pathname = `/${name}`;
  return {
    url: scratch.toString(),
    async drop() {
      const dropper = new pg.Client({ connectionString: url });
      await dropper.connect();
      await dropper.query(`drop database if exists "${name}" with (force)`);
      await dropper.end();
    },
  };
}

export async function run(): Promise<Verdict[]> {
  const durationSeconds = positiveNumberFromEnv('BENCH_DURATION', 10);
  const dataDir = scratchDir('vending');
  const jwtSecret = jwtSecretForScratch();
  const external = process.env.DATABASE_URL ? await scratchPostgres(process.env.DATABASE_URL) : undefined;
  try {
    say(external ? 'database: a scratch database on DATABASE_URL' : `database: embedded PGlite in ${dataDir.path}`);
    // Seed first, then hand the data to the server (an embedded PGlite has one owner at a time).
    const embedded = external ? undefined : await startEmbeddedPostgres({ dataDir: `${dataDir.path}/pg`, port: 0 });
    const seedDb = createDb(createPool(external?.url ?? (embedded?.url as string), { max: 1 }));
    let ids: { managerId: string; operatorId: string };
    try {
      await migrateOrThrow(seedDb);
      say(`seeding ${MACHINES} machines and ${TASKS.toLocaleString('en-US')} tasks`);
      ids = await seedFleet(seedDb);
    } finally {
      await seedDb.destroy();
      await embedded?.stop();
    }

    const config = parseConfig({ JWT_SECRET: jwtSecret });
    const bearer = async (userId: string, role: 'manager' | 'operator') =>
      `Bearer ${await signAccessToken(config.auth.tokens, { userId, role })}`;
    // Two anchors: the health route (two small queries side by side, the database probe and the
    // newest backup, and the whole middleware stack) and
    // a static dashboard asset (no database, no auth): the floor of the server and the load
    // generator sharing this machine's cores.
    const routes: [string, string, string | undefined][] = [
      ['GET /api/health, two queries (anchor)', '/api/health', undefined],
      ['GET /admin/assets/dashboard.css, no database (floor)', '/admin/assets/dashboard.css', undefined],
      ['GET /api/machines (manager, 50 of 300)', '/api/machines', await bearer(ids.managerId, 'manager')],
      ['GET /api/tasks (operator: own tasks, 50 a page)', '/api/tasks', await bearer(ids.operatorId, 'operator')],
    ];

    say('starting the bundle');
    const server = await startServerChild('bench/servers/bundle.ts', {
      DATA_DIR: dataDir.path,
      HOST: '127.0.0.1',
      LOCAL_PG_PORT: '0',
      LOG_LEVEL: 'warn',
      JWT_SECRET: jwtSecret,
      THROTTLE_LIMIT: '1000000000',
      ENABLE_SCHEDULED_TASKS: 'false',
      ...(external ? { DATABASE_URL: external.url } : { DATABASE_URL: '' }),
    });
    const results: [string, Awaited<ReturnType<typeof runLoad>> & { cpuMicrosPerRequest: number }][] = [];
    try {
      for (const [label, path, authorization] of routes) {
        const url = `${server.url}${path}`;
        const headers = authorization ? { authorization } : undefined;
        const check = await fetch(url, { headers });
        if (check.status !== 200) throw new Error(`${path} answered ${check.status}: ${await check.text()}`);
        say(`${label}: warming up 2 s, measuring ${durationSeconds} s`);
        await runLoad({ url, connections: CONNECTIONS, durationSeconds: 2, headers });
        // The server's own CPU per request: unlike latency, it holds steady when other work
        // shares the machine.
        const cpuBefore = await server.cpuMicros();
        const load = await runLoad({ url, connections: CONNECTIONS, durationSeconds, headers });
        const cpu = (await server.cpuMicros()) - cpuBefore;
        results.push([label, { ...load, cpuMicrosPerRequest: cpu / Math.max(1, load.requests) }]);
      }
    } finally {
      await server.stop();
    }

    console.log(
      `\n${CONNECTIONS} connections, ${durationSeconds} s each, ${external ? 'PostgreSQL' : 'embedded PGlite'}\n`,
    );
    console.log(
      formatTable(
        ['route', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'server CPU µs/req', 'failed'],
        results.map(([label, r]) => [
          label,
          Math.round(r.requestsPerSecond).toLocaleString('en-US'),
          r.p50Ms.toFixed(2),
          r.p95Ms.toFixed(2),
          r.p99Ms.toFixed(2),
          Math.round(r.cpuMicrosPerRequest).toLocaleString('en-US'),
          String(r.failures),
        ]),
      ),
    );
    const anchor = results[0]?.[1];
    const floor = results[1]?.[1];
    console.log('');
    return results.slice(2).map(([label, r]) => ({
      bench: 'vending',
      target: `${label.split(' (')[0]} p95 < ${TARGET_P95_MS} ms at ${CONNECTIONS} connections`,
      measured: `${r.p95Ms.toFixed(1)} ms (anchor ${anchor?.p95Ms.toFixed(1)} ms, ${(r.p95Ms / (anchor?.p95Ms ?? 1)).toFixed(2)}x; no-database floor ${floor?.p95Ms.toFixed(1)} ms; server CPU ${Math.round(r.cpuMicrosPerRequest)} µs/request vs ${Math.round(anchor?.cpuMicrosPerRequest ?? 0)}; ${r.failures} failed)`,
      pass: r.p95Ms < TARGET_P95_MS && r.failures === 0,
    }));
  } finally {
    await external?.drop();
    dataDir.remove();
  }
}
