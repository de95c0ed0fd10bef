import { resolve } from 'node:path';
import { loadDotEnv } from '../../functions/dotenv.ts';
import { type Config, parseConfigOrExit } from '../../lib/config.ts';
import { createDb, createPool, type Db } from '../../lib/db/connection.ts';
import { localJwtSecret } from '../../local/dev-secrets.ts';

/** Config for a CLI command: ./.env then the environment, exit 1 with the variable named on error. */
export function cliConfig(): Config {
  loadDotEnv();
  const env: Record<string, string | undefined> = { ...process.env };
  // Outside production the CLI shares the local stack's generated secret, like `npm run dev`.
  if (!env.JWT_SECRET && env.NODE_ENV !== 'production')
    env.JWT_SECRET = localJwtSecret(resolve(env.DATA_DIR || './.data'));
  return parseConfigOrExit(env);
}

/**
 * A database for a CLI command: DATABASE_URL, or else the embedded PGlite in DATA_DIR (which
 * must not be open in another process: stop `npm run dev` first, or point DATABASE_URL at its
 * LOCAL_PG_PORT).
 */
export async function withDatabase<T>(config: Config, run: (db: Db) => Promise<T>): Promise<T> {
  let url = config.databaseUrl;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let releaseLock: (() => void) | undefined;
  if (!url) {
    const { lockDataDir, runningStack } = await import('../../local/data-dir-lock.ts');
    const dataDir = resolve(config.dataDir);
    const running = runningStack(dataDir);
    if (typeof running?.databaseUrl === 'string') {
      url = running.databaseUrl; // the local stack is up: talk to its Postgres
    } else {
      const { startEmbeddedPostgres } = await import('../../local/embedded-postgres.ts');
      releaseLock = lockDataDir(dataDir).release;
      const embedded = await startEmbeddedPostgres({ dataDir: `${dataDir}/pg`, port: 0 });
      url = embedded.url;
      stopEmbedded = embedded.stop;
    }
  }
  const db = createDb(createPool(url, { max: 2, ssl: config.databaseSsl }));
  try {
    return await run(db);
  } finally {
    await db.destroy();
    await stopEmbedded?.();
    releaseLock?.();
  }
}
