// An authenticated JSON route vs the same route without auth, in one run; login latency with
// the configured PBKDF2 cost.
import { randomBytes } from 'node:crypto';
import { jwtSecretForScratch } from './support/jwt-secret.ts';
import { runLoad } from './support/load.ts';
import { scratchDir } from './support/paths.ts';
import { BENCH_AUTH_JSON_PATH, BENCH_JSON_PATH } from './support/payload.ts';
import { progress } from './support/progress.ts';
import { startServerChild } from './support/server-child.ts';
import { positiveNumberFromEnv } from './support/settings.ts';
import { percentile } from './support/stats.ts';
import { formatTable } from './support/table.ts';
import type { Verdict } from './support/verdict.ts';

const CONNECTIONS = 100;
const WARMUP_SECONDS = 2;
const LOGINS = 20;
/** The budget: authentication keeps 90% of the unauthenticated route's throughput. */
const MIN_RATIO = 0.9;

const say = progress('auth');

export async function run(): Promise<Verdict[]> {
  const durationSeconds = positiveNumberFromEnv('BENCH_DURATION', 10);
  const dataDir = scratchDir('auth');
  const email = 'bench-user@example.com';
  const password = randomBytes(12).toString('base64url');
  const iterations = process.env.PASSWORD_ITERATIONS || '100000';
  say(`starting the bundle (PBKDF2 ${iterations} iterations)`);
  const server = await startServerChild('bench/servers/bundle.ts', {
    DATA_DIR: dataDir.path,
    HOST: '127.0.0.1',
    LOCAL_PG_PORT: '0',
    LOG_LEVEL: 'info',
    JWT_SECRET: jwtSecretForScratch(),
    THROTTLE_LIMIT: '1000000000',
    PASSWORD_ITERATIONS: iterations,
    BENCH_USER_EMAIL: email,
    BENCH_USER_PASSWORD: password,
  });
  try {
    say(`logging in ${LOGINS} times, one after another`);
    const loginMs: number[] = [];
    let token = '';
    for (let i = 0; i < LOGINS; i++) {
      const started = performance.now();
      const res = await fetch(`${server.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
      if (res.status !== 200) throw new Error(`login answered ${res.status}: ${await res.text()}`);
      token = ((await res.json()) as { accessToken: string }).accessToken;
      loginMs.push(performance.now() - started);
    }
    const headers = { authorization: `Bearer ${token}` };
    const check = await fetch(`${server.url}${BENCH_AUTH_JSON_PATH}`, { headers });
    if (check.status !== 200) throw new Error(`${BENCH_AUTH_JSON_PATH} answered ${check.status}`);

    const results: [string, Awaited<ReturnType<typeof runLoad>>][] = [];
    for (const [label, path, auth] of [
      ['without auth', BENCH_JSON_PATH, false],
      ['with auth (token + user lookup)', BENCH_AUTH_JSON_PATH, true],
    ] as const) {
      const url = `${server.url}${path}`;
      say(`${label}: warming up ${WARMUP_SECONDS} s, measuring ${durationSeconds} s`);
      await runLoad({ url, connections: CONNECTIONS, durationSeconds: WARMUP_SECONDS, headers: auth ? headers : {} });
      results.push([
        label,
        await runLoad({ url, connections: CONNECTIONS, durationSeconds, headers: auth ? headers : {} }),
      ]);
    }
    const sortedLogins = Float64Array.from(loginMs).sort();
    console.log(`\nGET, ${CONNECTIONS} connections, ${durationSeconds} s each; the same server and route body\n`);
    console.log(
      formatTable(
        ['route', 'req/s', 'p50 ms', 'p99 ms', 'failed'],
        results.map(([label, r]) => [
          label,
          Math.round(r.requestsPerSecond).toLocaleString('en-US'),
          r.p50Ms.toFixed(2),
          r.p99Ms.toFixed(2),
          String(r.failures),
        ]),
      ),
    );
    console.log(
      `\nlogin: p50 ${percentile(sortedLogins, 50).toFixed(1)} ms, p99 ${percentile(sortedLogins, 99).toFixed(1)} ms over ${LOGINS} logins (PBKDF2-SHA256, ${iterations} iterations)\n`,
    );
    const [plain, authed] = results.map(([, r]) => r);
    const ratio = (authed?.requestsPerSecond ?? 0) / (plain?.requestsPerSecond ?? 1);
    return [
      {
        bench: 'auth',
        target: `authenticated / unauthenticated req/s >= ${MIN_RATIO}x`,
        measured: `${ratio.toFixed(2)}x`,
        pass: ratio >= MIN_RATIO,
      },
    ];
  } finally {
    await server.stop();
    dataDir.remove();
  }
}
