import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';
import { hostname } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ServerType, serve } from '@hono/node-server';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Pool } from 'pg';
import { AuthUserCache } from '../lib/auth/user-cache.ts';
import { type Config, parseConfigOrExit } from '../lib/config.ts';
import { createDb, createPool, type Db } from '../lib/db/connection.ts';
import { migrateOrThrow } from '../lib/db/migrate.ts';
import { JOBS } from '../lib/jobs/registry.ts';
import { acceleratedClock, startScheduler } from '../lib/jobs/scheduler.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import { RequestLogWriter } from '../lib/observability/request-log-writer.ts';
import { rateLimiterFor } from '../lib/rate-limit.ts';
import { createStorage } from '../lib/storage.ts';
import { createApp } from './app.ts';
import type { AppEnv, Services } from './context.ts';
import { hostMetricsFor } from './host-metrics.ts';
import { answerClientError } from './http-parse-errors.ts';
import { runnerDeps } from './jobs-http.ts';

export type NodeServer = {
  url: string;
  port: number;
  app: OpenAPIHono<AppEnv>;
  services: Services;
  /** Stops accepting, finishes in-flight requests and background work, closes the database. */
  close(): Promise<void>;
};

/**
 * The services a Node process shares across requests; drain() waits for deferred background
 * work (called on shutdown, so nothing is lost on SIGTERM).
 */
export function nodeServices(
  config: Config,
  db: Db,
  logger: Logger,
  pool?: Pool,
): { services: Services; drain(): Promise<void> } {
  const pending = new Set<Promise<unknown>>();
  const requestLogs = new RequestLogWriter({ maxBuffered: config.requestLogBufferMax });
  // The request log is written every 500 ms (and early when a batch of 500 is waiting). A failed
  // flush keeps its rows; the failure is logged once until a flush succeeds again.
  let lastFlushError: string | null = null;
  const flushLogs = () =>
    requestLogs.flush(db).then(
      () => {
        if (lastFlushError) logger.info('request log writing resumed', { dropped: requestLogs.stats().dropped });
        lastFlushError = null;
      },
      (error: Error) => {
        if (lastFlushError !== error.message)
          logger.warn('request log flush failed; rows kept', { error: error.message });
        lastFlushError = error.message;
      },
    );
  const timer = setInterval(flushLogs, 500);
  timer.unref();
  const services: Services = {
    config,
    db,
    storage: config.s3 ? createStorage(config.s3) : null,
    rateLimiter: rateLimiterFor(config),
    authUsers: new AuthUserCache(config.authCacheTtlSeconds),
    requestLogs,
    logger,
    runtime: 'node',
    instanceId: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
    startedAt: Date.now(),
    assets: readPackageAsset,
    hostMetrics: hostMetricsFor(existsSync(config.dataDir) ? resolve(config.dataDir) : '/'),
    ...(pool
      ? {
          poolStats: () => ({
            total: pool.totalCount,
            idle: pool.idleCount,
            waiting: pool.waitingCount,
            max: pool.options.max ?? config.databasePoolMax,
          }),
        }
      : {}),
    defer(work) {
      const tracked = work
        .catch((error: unknown) => logger.error('background work failed', { error }))
        .finally(() => pending.delete(tracked));
      pending.add(tracked);
    },
  };
  return {
    services,
    async drain() {
      clearInterval(timer);
      while (pending.size > 0) await Promise.allSettled([...pending]);
      // SIGTERM: what is buffered is written before the pool closes.
      await requestLogs
        .drain(db)
        .catch((error: Error) =>
          logger.error('request logs lost at shutdown', { rows: requestLogs.stats().backlog, error: error.message }),
        );
    },
  };
}

const ASSET_TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

/** Swagger UI's files straight from the installed swagger-ui-dist package. */
async function readPackageAsset(name: string): Promise<Response | null> {
  const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  try {
    const body = await readFile(join(dir, basename(name)));
    return new Response(body, {
      headers: {
        'Content-Type': ASSET_TYPES[extname(name)] ?? 'application/octet-stream',
        'Cache-Control': 'public, max-age=86400',
      },
    });
  } catch {
    return null;
  }
}

/** Starts the bundle on Node: pool, optional migrations, storage, the HTTP server. */
export async function startNodeServer(config: Config, options: { logger?: Logger } = {}): Promise<NodeServer> {
  const logger = options.logger ?? createLogger(config.logLevel, { runtime: 'node' });
  // A stack: each step is added in front, so teardown runs in reverse order of setup.
  const cleanup: (() => Promise<void> | void)[] = [];
  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      // No DATABASE_URL: an embedded PGlite in DATA_DIR, served on LOCAL_PG_PORT.
      const { lockDataDir } = await import('../local/data-dir-lock.ts');
      const { startEmbeddedPostgres } = await import('../local/embedded-postgres.ts');
      const lock = lockDataDir(resolve(config.dataDir));
      cleanup.unshift(() => lock.release());
      const embedded = await startEmbeddedPostgres({
        dataDir: join(resolve(config.dataDir), 'pg'),
        port: config.localPgPort,
      });
      cleanup.unshift(() => embedded.stop());
      databaseUrl = embedded.url;
      logger.info('embedded postgres started', { dataDir: config.dataDir, url: embedded.url });
    }

    const pool = createPool(databaseUrl, {
      max: config.databasePoolMax,
      ssl: config.databaseSsl,
      connectTimeoutMs: config.databaseConnectTimeoutMs,
      queryTimeoutMs: config.databaseQueryTimeoutMs,
      onError: (error) => logger.warn('idle database connection lost', { error: error.message }),
    });
    const db = createDb(pool);
    cleanup.unshift(() => db.destroy());

    if (config.migrateOnStart) {
      const applied = await migrateOrThrow(db);
      if (applied.length > 0) logger.info('migrations applied', { migrations: applied.map((r) => r.migrationName) });
    }

    const { services, drain } = nodeServices(config, db, logger, pool);
    const app = createApp({ acquire: () => services });
    const server = await listen(app, config);
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) =>
      answerClientError(error, socket, logger),
    );
    const clock = config.schedulerClock ? acceleratedClock(config.schedulerClock) : undefined;
    const scheduler = config.jobs.scheduler ? startScheduler(runnerDeps(services), JOBS, logger, clock) : undefined;
    if (scheduler) {
      services.scheduler = scheduler;
      cleanup.unshift(() => scheduler.stop());
    }
    const port = (server.address() as AddressInfo).port;
    const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;

    let closing: Promise<void> | undefined;
    return {
      url: `http://${shownHost}:${port}`,
      port,
      app,
      services,
      close() {
        closing ??= (async () => {
          await new Promise<void>((done) => {
            server.close(() => done());
            if ('closeIdleConnections' in server) server.closeIdleConnections();
          });
          await drain();
          for (const step of cleanup) await step();
        })();
        return closing;
      },
    };
  } catch (error) {
    for (const step of cleanup) await Promise.resolve(step()).catch(() => {});
    throw error;
  }
}

function listen(
  app: OpenAPIHono<AppEnv>,
  config: Config,
): Promise<ServerType & { address(): AddressInfo | string | null }> {
  return new Promise((resolveListen, reject) => {
    const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => {
      server.off('error', onError);
      resolveListen(server as ServerType & { address(): AddressInfo });
    });
    const onError = (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`port ${config.port} on ${config.host} is already in use: set PORT to a free port`)
          : error,
      );
    server.once('error', onError);
  });
}

/** Loads ./.env when present; variables already in the environment win. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

/** Exits cleanly on SIGTERM/SIGINT; a second signal exits at once. */
export function onShutdownSignal(stop: () => Promise<void>, logger: Logger): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info('shutting down', { signal });
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

async function main() {
  loadDotEnv();
  const config = parseConfigOrExit(process.env);
  const logger = createLogger(config.logLevel, { runtime: 'node' });
  try {
    const server = await startNodeServer(config, { logger });
    logger.info('listening', { url: server.url, health: `${server.url}/api/health` });
    onShutdownSignal(() => server.close(), logger);
  } catch (error) {
    logger.error('failed to start', { error: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main();
}
