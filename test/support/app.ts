import { createApp } from '../../functions/app.ts';
import { nodeServices } from '../../functions/node.ts';
import { parseConfig } from '../../lib/config.ts';
import { createDb, createPool } from '../../lib/db/connection.ts';
import { createLogger } from '../../lib/logger.ts';

/**
 * Defaults for every suite: a fixed secret, cheap PBKDF2 (the cost is covered by its own test and
 * the bench), no API rate limit (the rate-limit suite turns it on) and no user cache (suites
 * change users straight in the database; the cache has its own tests).
 */
export const TEST_ENV = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'error',
  JWT_SECRET: 'test-secret-test-secret-test-secret-0123',
  PASSWORD_ITERATIONS: '1000',
  THROTTLE_LIMIT: '0',
  AUTH_CACHE_TTL: '0',
} as const;

/** The bundle with Node services built from an env map, as the Node entry builds them, for app.request() tests. */
export function appFor(env: Record<string, string | undefined>) {
  const config = parseConfig({ ...TEST_ENV, ...env });
  if (!config.databaseUrl) throw new Error('appFor needs DATABASE_URL');
  const pool = createPool(config.databaseUrl, { max: 4, connectTimeoutMs: 1500 });
  const db = createDb(pool);
  const { services, drain } = nodeServices(config, db, createLogger(config.logLevel, { test: true }), pool);
  const app = createApp({ acquire: () => services });
  return {
    app,
    services,
    async close() {
      await drain();
      await db.destroy();
    },
  };
}
