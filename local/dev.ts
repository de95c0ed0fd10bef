/**
 * `npm run dev`: the whole stack with nothing installed but the npm packages. Embedded Postgres
 * (PGlite) and the S3 emulator unless DATABASE_URL / S3_ENDPOINT point at real servers,
 * migrations, then the Node server. Data lives in DATA_DIR and survives restarts; Ctrl-C stops
 * everything cleanly.
 */
import { resolve } from 'node:path';
import { loadDotEnv } from '../functions/dotenv.ts';
import { type NodeServer, onShutdownSignal, startNodeServer } from '../functions/node.ts';
import { ensureFirstAdmin } from '../lib/auth/bootstrap.ts';
import { parseConfigOrExit } from '../lib/config.ts';
import { createLogger } from '../lib/logger.ts';
import { seedCrmDemo } from './demo/crm.ts';
import { seedVendingDemo } from './demo/vending.ts';
import { localJwtSecret } from './dev-secrets.ts';
import { type LocalStack, psqlUrl, startLocalStack } from './stack.ts';

loadDotEnv();
// Development defaults; anything set in the environment or .env wins.
const env: Record<string, string | undefined> = { NODE_ENV: 'development', HOST: '127.0.0.1', ...process.env };
env.JWT_SECRET ||= localJwtSecret(resolve(env.DATA_DIR || './.data'));
const baseConfig = parseConfigOrExit(env);
const logger = createLogger(baseConfig.logLevel, { runtime: 'node' });

let stack: LocalStack | undefined;
let server: NodeServer | undefined;
async function stopAll() {
  await server?.close();
  await stack?.stop();
}

try {
  console.log('Starting the Opsbase local stack…');
  stack = await startLocalStack(baseConfig, {
    bucket: env.S3_BUCKET || 'opsbase',
    onCrash(what, code) {
      logger.error(`${what} exited unexpectedly`, { code });
      stopAll().finally(() => process.exit(1));
    },
  });
  const config = parseConfigOrExit({ ...env, ...stack.env });
  server = await startNodeServer(config, { logger });
  const admin = await ensureFirstAdmin(server.services.db, config.auth.password, {
    email: env.ADMIN_EMAIL || 'admin@opsbase.local',
    password: env.ADMIN_PASSWORD,
  });
  await seedVendingDemo(server.services.db, config.auth.password);
  printBanner(server, stack, config.dataDir, admin);
  await seedCrmDemo(server.services.db, config, console.log);
  onShutdownSignal(stopAll, logger);
} catch (error) {
  console.error(`Could not start the local stack: ${error instanceof Error ? error.message : String(error)}`);
  await stopAll().catch(() => {});
  process.exit(1);
}

function printBanner(
  s: NodeServer,
  st: LocalStack,
  dataDir: string,
  admin: Awaited<ReturnType<typeof ensureFirstAdmin>>,
) {
  const lines = [
    '',
    'Opsbase is running.',
    `  App:      ${s.url}`,
    `  Health:   ${s.url}/api/health`,
    `  Postgres: psql "${psqlUrl(st.databaseUrl)}"${st.postgres.embedded ? `   (embedded PGlite, data in ${dataDir}/pg)` : ''}`,
    st.s3
      ? `  S3:       ${st.s3.endpoint}  bucket ${st.s3.bucket}${st.s3.embedded ? `   (embedded emulator, key S3RVER / secret S3RVER; data in ${dataDir}/s3)` : ''}`
      : '  S3:       not configured',
    `  API docs: ${s.url}/api/docs`,
    ...(admin.created
      ? [
          '',
          admin.generated
            ? `  Admin login (shown once): ${admin.email} / ${admin.password}`
            : `  Admin login: ${admin.email} (password from ADMIN_PASSWORD)`,
          `  Change it with: npx opsbase user set-password --email ${admin.email}`,
        ]
      : []),
    '',
    'Press Ctrl-C to stop.',
    '',
  ];
  console.log(lines.join('\n'));
}
