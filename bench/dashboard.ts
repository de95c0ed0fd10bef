// Server time of each dashboard tab (p50/p95 of the full request in process, through the whole
// middleware stack, with a signed-in admin) on a request log of BENCH_LOG_ROWS rows over 30 days,
// beside the JSON API answering the same data and one query round trip, measured in the same run;
// and the weight of a tab (HTML + its script + its stylesheet).
import { gzipSync } from 'node:zlib';
import { sql } from 'kysely';
import { createApp } from '../functions/app.ts';
import { DASHBOARD_ASSETS } from '../functions/dashboard/assets.ts';
import { nodeServices } from '../functions/node.ts';
import { hashPassword } from '../lib/auth/password.ts';
import { signAccessToken } from '../lib/auth/tokens.ts';
import { parseConfig } from '../lib/config.ts';
import { createDb, createPool, type Db } from '../lib/db/connection.ts';
import { createLogger } from '../lib/logger.ts';
import { createUser, findUserByEmail } from '../lib/users.ts';
import { ensureSeededLogs, seedSettings } from './seed-logs.ts';
import { jwtSecretForScratch } from './support/jwt-secret.ts';
import { logBenchDatabase } from './support/log-database.ts';
import { progress } from './support/progress.ts';
import { positiveNumberFromEnv } from './support/settings.ts';
import { percentile, timeMany } from './support/stats.ts';
import { formatTable } from './support/table.ts';
import type { Verdict } from './support/verdict.ts';

const TARGET_P95_MS = 100;
const TARGET_BYTES = 100 * 1024;
const FULL_ROWS = 10_000_000;
const say = progress('dashboard');

/** Each tab as a visitor opens it, and the JSON API route serving the same data (the anchor). */
const TABS: { name: string; page: string; api?: string }[] = [
  { name: 'Overview', page: '/admin/system', api: '/api/admin/system/stats?window=24h' },
  { name: 'API Logs', page: '/admin/system/logs', api: '/api/admin/system/logs?limit=50' },
  {
    name: 'API Logs, 5xx, 7 days',
    page: '/admin/system/logs?status=5xx&range=7d',
    api: '/api/admin/system/logs?status=5xx&limit=50',
  },
  {
    name: 'API Logs, path search',
    page: '/admin/system/logs?path=leads%2F42',
    api: '/api/admin/system/logs?path=leads%2F42&limit=50',
  },
  { name: 'API Logs, page 5', page: '' },
  { name: 'Cron Jobs', page: '/admin/system/jobs', api: '/api/admin/system/jobs' },
  { name: 'Database', page: '/admin/system/database', api: '/api/admin/system/db' },
  { name: 'Errors (24 h)', page: '/admin/system/errors', api: '/api/admin/system/errors' },
  {
    name: 'Errors (24 h, with 4xx)',
    page: '/admin/system/errors?include4xx=on',
    api: '/api/admin/system/errors?include4xx=true',
  },
  { name: 'Active Users', page: '/admin/system/users', api: '/api/admin/system/active-users' },
];

async function benchAdmin(db: Db) {
  const email = 'bench-admin@opsbase.bench';
  return (
    (await findUserByEmail(db, email)) ??
    createUser(db, {
      email,
      name: 'Bench Admin',
      role: 'admin',
      passwordHash: await hashPassword('unused-password', { iterations: 1000 }),
    })
  );
}

export async function run(): Promise<Verdict[]> {
  const runs = positiveNumberFromEnv('BENCH_RUNS', 40);
  // The request log seed-logs writes (and reuses, topped up to now), on the database it picks.
  const database = await logBenchDatabase();
  say(`database: ${database.label}`);
  const { marker } = await ensureSeededLogs(database, { ...seedSettings(), reseed: false });
  const rows = marker.rows;
  const opened = await database.open();
  // On PostgreSQL the bundle gets its own pool, as on a server (the Database tab shows its usage).
  const url = database.serverEnv.DATABASE_URL;
  const pool = url ? createPool(url, { max: 10 }) : undefined;
  const db = pool ? createDb(pool) : opened.db;
  const config = parseConfig({
    ...process.env,
    ...database.serverEnv,
    JWT_SECRET: jwtSecretForScratch(),
    LOG_LEVEL: 'error',
    AUTH_CACHE_TTL: '2',
    THROTTLE_LIMIT: '0', // the API anchors are called hundreds of times a minute
  });
  const { services, drain } = nodeServices(config, db, createLogger('error'), pool);
  try {
    const admin = await benchAdmin(db);

    // The logged-in admin's cookie and bearer token, as the browser and an API client hold them.
    const token = await signAccessToken(config.auth.tokens, { userId: admin.id, role: 'admin' });
    const app = createApp({ acquire: () => services });
    const get = async (path: string, auth: 'cookie' | 'bearer') => {
      const res = await app.request(path, {
        headers: auth === 'cookie' ? { cookie: `opsbase_session=${token}` } : { authorization: `Bearer ${token}` },
      });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${body.slice(0, 300)}`);
      return body;
    };
    // A deep keyset page: follow "Older" four times from the first page.
    let deep = '/admin/system/logs';
    for (let i = 0; i < 4; i++) {
      const next = /rel="next" href="([^"]+)"/.exec(await get(deep, 'cookie'));
      if (!next) break;
      deep = (next[1] ?? deep).replaceAll('&amp;', '&');
    }
    (TABS.find((t) => t.name === 'API Logs, page 5') as { page: string }).page = deep;

    say(`warming up, then ${runs} sequential requests per tab and per API anchor`);
    const query = await timeMany(runs, () => sql`select 1`.execute(db));
    const results: string[][] = [];
    const weights: string[][] = [];
    let worstP95 = 0;
    let worstTab = '';
    let heaviest = 0;
    let heaviestTab = '';
    const assetBytes = DASHBOARD_ASSETS['dashboard.css']!.body.length + DASHBOARD_ASSETS['dashboard.js']!.body.length;
    const assetGzip =
      gzipSync(DASHBOARD_ASSETS['dashboard.css']!.body).length +
      gzipSync(DASHBOARD_ASSETS['dashboard.js']!.body).length;
    for (const tab of TABS) {
      for (let i = 0; i < 3; i++) await get(tab.page, 'cookie');
      const html = await get(tab.page, 'cookie');
      const page = await timeMany(runs, () => get(tab.page, 'cookie'));
      const api = tab.api ? await timeMany(runs, () => get(tab.api as string, 'bearer')) : undefined;
      const p95 = percentile(page, 95);
      if (p95 > worstP95) [worstP95, worstTab] = [p95, tab.name];
      const total = Buffer.byteLength(html) + assetBytes;
      if (total > heaviest) [heaviest, heaviestTab] = [total, tab.name];
      results.push([
        tab.name,
        percentile(page, 50).toFixed(1),
        p95.toFixed(1),
        api ? percentile(api, 95).toFixed(1) : '',
        p95 < TARGET_P95_MS ? 'ok' : 'over',
      ]);
      weights.push([
        tab.name,
        (Buffer.byteLength(html) / 1024).toFixed(1),
        (total / 1024).toFixed(1),
        ((gzipSync(html).length + assetGzip) / 1024).toFixed(1),
      ]);
    }
    const full = rows >= FULL_ROWS;
    console.log(
      `\n${rows.toLocaleString('en-US')} request logs; ${runs} sequential requests per line, in process through the full stack\n`,
    );
    console.log(formatTable(['tab', 'p50 ms', 'p95 ms', 'JSON API p95 ms', `< ${TARGET_P95_MS} ms`], results));
    console.log(
      `\none query round trip (anchor): p50 ${percentile(query, 50).toFixed(2)} ms, p95 ${percentile(query, 95).toFixed(2)} ms\n`,
    );
    console.log(
      formatTable(['tab', 'HTML KB', 'HTML + CSS + JS KB', 'gzip KB'], weights),
      `\n(CSS ${(DASHBOARD_ASSETS['dashboard.css']!.body.length / 1024).toFixed(1)} KB, script ${(DASHBOARD_ASSETS['dashboard.js']!.body.length / 1024).toFixed(1)} KB, cached after the first page)\n`,
    );
    const rowsNote = full ? '' : ` (only ${rows.toLocaleString('en-US')} rows: not the 10M the target names)`;
    return [
      {
        bench: 'dashboard',
        target: `server time p95 < ${TARGET_P95_MS} ms per tab with 10M log rows`,
        measured: `worst ${worstTab} ${worstP95.toFixed(1)} ms${rowsNote}`,
        pass: worstP95 < TARGET_P95_MS && full,
      },
      {
        bench: 'dashboard',
        target: 'HTML + script + CSS of a tab < 100 KB',
        measured: `heaviest ${heaviestTab} ${(heaviest / 1024).toFixed(1)} KB`,
        pass: heaviest < TARGET_BYTES,
      },
    ];
  } finally {
    await drain();
    if (pool) await db.destroy();
    await opened.close();
  }
}
