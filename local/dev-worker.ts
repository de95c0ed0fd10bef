/**
 * `npm run dev:worker`: the Workers build under `wrangler dev`, against the same local stack as
 * `npm run dev`. If that stack is already running on DATA_DIR its Postgres and S3 are reused;
 * otherwise they are started here (and migrated) and stopped when wrangler exits.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { loadDotEnv } from '../functions/dotenv.ts';
import { parseConfigOrExit } from '../lib/config.ts';
import { createDb, createPool } from '../lib/db/connection.ts';
import { migrateOrThrow } from '../lib/db/migrate.ts';
import { runningStack } from './data-dir-lock.ts';
import { localJwtSecret } from './dev-secrets.ts';
import { EMBEDDED_S3_CREDENTIALS } from './embedded-s3.ts';
import { type LocalStack, startLocalStack } from './stack.ts';

loadDotEnv();
const env: Record<string, string | undefined> = { NODE_ENV: 'development', ...process.env };
env.JWT_SECRET ||= localJwtSecret(resolve(env.DATA_DIR || './.data'));
const config = parseConfigOrExit(env);
const port = env.WORKER_PORT || '8787';

let stack: LocalStack | undefined;
let vars: Record<string, string>;
const running = runningStack(resolve(config.dataDir));

if (running && typeof running.databaseUrl === 'string') {
  console.log(`Reusing the local stack of process ${running.pid} (npm run dev).`);
  vars = { DATABASE_URL: running.databaseUrl };
  if (typeof running.s3Endpoint === 'string') {
    Object.assign(vars, {
      S3_ENDPOINT: running.s3Endpoint,
      S3_BUCKET: String(running.s3Bucket ?? 'opsbase'),
      S3_ACCESS_KEY_ID: EMBEDDED_S3_CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: EMBEDDED_S3_CREDENTIALS.secretAccessKey,
    });
  }
} else {
  stack = await startLocalStack(config, {
    bucket: env.S3_BUCKET || 'opsbase',
    onCrash(what, code) {
      console.error(`${what} exited unexpectedly (code ${code})`);
      process.exit(1);
    },
  });
  vars = stack.env;
  const db = createDb(createPool(stack.databaseUrl, { max: 1 }));
  try {
    await migrateOrThrow(db);
  } finally {
    await db.destroy();
  }
}

// Variables the Worker sees: the stack's plus what the environment sets for the app.
const passThrough = ['JWT_SECRET', 'LOG_LEVEL', 'DEPLOY_COMMIT', 'DEPLOY_TIME', 'BODY_LIMIT', 'HEALTH_TIMEOUT_MS'];
for (const name of passThrough) if (env[name]) vars[name] = env[name] as string;
const args = [
  wranglerBin(),
  'dev',
  '--ip',
  '127.0.0.1',
  '--port',
  port,
  '--var',
  ...Object.entries(vars).map(([k, v]) => `${k}:${v}`),
];
console.log(`Starting wrangler dev on http://127.0.0.1:${port} (health: http://127.0.0.1:${port}/api/health)`);
// wrangler's own bin under this node, not through npx and a shell, so signals reach it directly.
const wrangler = spawn(process.execPath, args, {
  stdio: 'inherit',
  // No cf fetch: it needs workers.cloudflare.com and only warns offline.
  env: { CLOUDFLARE_CF_FETCH_ENABLED: 'false', ...process.env, WRANGLER_SEND_METRICS: 'false' },
});

const finish = async (code: number) => {
  await stack?.stop();
  process.exit(code);
};
process.on('SIGINT', () => wrangler.kill('SIGINT'));
process.on('SIGTERM', () => wrangler.kill('SIGTERM'));
wrangler.on('exit', (code) => finish(code ?? 0));

function wranglerBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('wrangler/package.json')), 'bin', 'wrangler.js');
}
