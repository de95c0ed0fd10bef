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
import { alertsConfigured, startAlertMonitor } from '../lib/alerts/monitor.ts';
import { AuthUserCache } from '../lib/auth/user-cache.ts';
import { type Config, parseConfigOrExit } from '../lib/config.ts';
import { createDb, createPool, type Db } from '../lib/db/connection.ts';
import { migrateOrThrow } from '../lib/db/migrate.ts';
import { JOBS } from '../lib/jobs/registry.ts';
import { scheduleView } from '../lib/jobs/schedule.ts';
import { acceleratedClock, type Scheduler, startScheduler } from '../lib/jobs/scheduler.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import { HttpMetrics } from '../lib/metrics/http-metrics.ts';
import { REQUEST_LOG_CONNECTIONS, RequestLogWriter } from '../lib/observability/request-log-writer.ts';
import { rateLimiterFor } from '../lib/rate-limit.ts';
import { createStorage } from '../lib/storage.ts';
import { alertDeps } from './alert-deps.ts';
import { createApp } from './app.ts';
import {
  type ClusterWorkerLink,
  clusterWorkerLink,
  clusterWorkerSlot,
  runClusterPrimary,
  workerCount,
} from './cluster.ts';
import type { AppEnv, Services } from './context.ts';
import { loadDotEnv } from './dotenv.ts';
import { hostMetricsFor } from './host-metrics.ts';
import { answerClientError } from './http-parse-errors.ts';
import { type BackgroundServices, runnerDeps } from './jobs-http.ts';

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
 * work (called on shutdown, so nothing is lost on SIGTERM). The request log writer uses logDb
 * (its own connection when the caller gives one) so a flush never takes a request's.
 */
export function nodeServices(
  config: Config,
  db: Db,
  logger: Logger,
  pool?: Pool,
  logDb: Db = db,
): { services: Services; drain(): Promise<void> } {
  const pending = new Set<Promise<unknown>>();
  // The request log is written every REQUEST_LOG_FLUSH_INTERVAL_MS (500 ms), and as soon as a batch
  // of 500 is waiting: in its own turn of the event loop (setImmediate), never on the stack of the
  // request that filled it. A failed flush keeps its rows; the failure is logged once until a flush
  // succeeds again.
  let lastFlushError: string | null = null;
  let flushQueued = false;
  const flushSoon = () => {
    if (flushQueued) return;
    flushQueued = true;
    setImmediate(() => {
      flushQueued = false;
      void flushLogs();
    });
  };
  const requestLogs = new RequestLogWriter({ onBatchReady: flushSoon, maxBuffered: config.requestLogBufferMax });
  const flushLogs = () =>
    requestLogs.flush(logDb).then(
      () => {
        if (lastFlushError) logger.info('request log writing resumed', { dropped: requestLogs.stats().dropped });
        lastFlushError = null;
        if (requestLogs.batchReady) flushSoon();
      },
      (error: Error) => {
        if (lastFlushError !== error.message)
          logger.warn('request log flush failed; rows kept', { error: error.message });
        lastFlushError = error.message;
      },
    );
  const timer = setInterval(flushLogs, config.requestLogs.flushIntervalMs);
  timer.unref();
  const services: Services = {
    config,
    db,
    storage: config.s3 ? createStorage(config.s3) : null,
    rateLimiter: rateLimiterFor(config),
    authUsers: new AuthUserCache(config.authCacheTtlSeconds),
    requestLogs,
    httpMetrics: new HttpMetrics(),
    logger,
    runtime: 'node',
    instanceId: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
    startedAt: Date.now(),
    assets: readPackageAsset,
    scratchDatabase: async (source) => (await import('../local/scratch-database.ts')).nodeScratchDatabase(source),
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
        .drain(logDb)
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

/**
 * The work a Node deployment runs once, beside HTTP: the in-process scheduler
 * (ENABLE_SCHEDULED_TASKS) and the alert monitor (when an alert channel is set). In a cluster
 * the primary runs it; otherwise the server process does.
 */
export function startBackgroundWork(s: BackgroundServices): {
  scheduler: Scheduler | undefined;
  stop(): Promise<void>;
} {
  // SCHEDULER_CLOCK (tests only) gives the scheduler an accelerated clock; otherwise real time.
  const clock = s.config.schedulerClock ? acceleratedClock(s.config.schedulerClock) : undefined;
  const scheduler = s.config.jobs.scheduler ? startScheduler(runnerDeps(s), JOBS, s.logger, clock) : undefined;
  const monitor = alertsConfigured(s.config)
    ? startAlertMonitor(alertDeps(s), s.config.alerts.checkIntervalMs)
    : undefined;
  return {
    scheduler,
    async stop() {
      await Promise.all([scheduler?.stop(), monitor?.stop()]);
    },
  };
}

export type NodeServerOptions = {
  logger?: Logger;
  /** Set in a cluster worker: HTTP only, metrics gathered from every worker through the primary. */
  clusterWorker?: ClusterWorkerLink;
};

/** Starts the bundle on Node: pool, optional migrations, storage, the HTTP server. */
export async function startNodeServer(config: Config, options: NodeServerOptions = {}): Promise<NodeServer> {
  const logger = options.logger ?? createLogger(config.logLevel, { runtime: 'node' });
  // A stack: each step is added in front, so teardown runs in reverse order of setup.
  const cleanup: (() => Promise<void> | void)[] = [];
  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      // No DATABASE_URL: an embedded PGlite in DATA_DIR, served on LOCAL_PG_PORT from a child
      // process of its own (see superviseEmbeddedPostgres).
      const { lockDataDir } = await import('../local/data-dir-lock.ts');
      const { superviseEmbeddedPostgres } = await import('../local/services.ts');
      const lock = lockDataDir(resolve(config.dataDir));
      cleanup.unshift(() => lock.release());
      const embedded = await superviseEmbeddedPostgres(
        { dataDir: join(resolve(config.dataDir), 'pg'), port: config.localPgPort },
        {
          exited: ({ code, signal }, restartInMs) =>
            logger.error('embedded postgres exited unexpectedly: restarting it', { code, signal, restartInMs }),
          restarted: (port) => logger.info('embedded postgres restarted', { port }),
          restartFailed: (error) => logger.error('embedded postgres could not restart', { error: error.message }),
        },
      );
      cleanup.unshift(() => embedded.stop());
      databaseUrl = embedded.url;
      // The CLI finds the running server's database here (as it finds `npm run dev`'s).
      lock.update({ databaseUrl });
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
    // The request log writer's own connections, outside the request pool (DATABASE_POOL_MAX), with
    // the same timeouts: on a silent network partition a flush fails (rows kept, the failure
    // logged) instead of waiting on a dead connection for as long as the partition lasts. One
    // serves the timer's flushes; a backlog of 2,000 rows or more is written over two.
    const logDb = createDb(
      createPool(databaseUrl, {
        max: REQUEST_LOG_CONNECTIONS,
        ssl: config.databaseSsl,
        connectTimeoutMs: config.databaseConnectTimeoutMs,
        queryTimeoutMs: config.databaseQueryTimeoutMs,
        onError: (error) => logger.warn('idle log writer connection lost', { error: error.message }),
      }),
    );
    cleanup.unshift(() => logDb.destroy());

    if (config.migrateOnStart) {
      const applied = await migrateOrThrow(db);
      if (applied.length > 0) logger.info('migrations applied', { migrations: applied.map((r) => r.migrationName) });
    }

    const { services, drain } = nodeServices(config, db, logger, pool, logDb);
    if (options.clusterWorker) {
      // The primary runs the scheduler and the alert monitor; this worker serves HTTP only.
      services.collectProcessMetrics = options.clusterWorker.attach(() => ({
        http: services.httpMetrics.snapshot(),
        requestLogs: services.requestLogs.stats(),
      }));
      // Next runs for its admin views: its primary runs the scheduler.
      if (config.jobs.scheduler) services.scheduler = scheduleView(JOBS, 'in-process');
    }
    const app = createApp({ acquire: () => services });
    const server = await listen(app, config);
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) =>
      answerClientError(error, socket, logger),
    );
    if (!options.clusterWorker) {
      const background = startBackgroundWork(services);
      const { scheduler } = background;
      if (scheduler) services.scheduler = { by: 'in-process', nextRuns: () => scheduler.nextRuns() };
      cleanup.unshift(() => background.stop());
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

/** Exits cleanly on SIGTERM/SIGINT; a second signal exits at once. */
export function onShutdownSignal(
  stop: () => Promise<void>,
  logger: Logger,
  signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
): void {
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
  for (const signal of signals) process.on(signal, handler);
}

async function main() {
  loadDotEnv();
  const config = parseConfigOrExit(process.env);
  const workers = workerCount(config.webConcurrency);
  const worker = clusterWorkerSlot();
  const logger = createLogger(config.logLevel, { runtime: 'node', ...(worker ? { worker } : {}) });
  try {
    if (!worker && workers > 1) {
      if (config.databaseUrl) {
        return await runClusterPrimary(config, logger, workers, { startBackgroundWork, onShutdownSignal });
      }
      logger.warn('WEB_CONCURRENCY needs DATABASE_URL (the embedded Postgres serves one process): one process');
    }
    const server = await startNodeServer(config, {
      logger,
      ...(worker ? { clusterWorker: clusterWorkerLink(worker) } : {}),
    });
    logger.info('listening', { url: server.url, health: `${server.url}/api/health` });
    if (worker) {
      // A terminal's Ctrl-C reaches every process of the group; a worker waits for the primary's
      // SIGTERM instead, so a second signal cannot cut its log flush short.
      process.on('SIGINT', () => {});
      onShutdownSignal(() => server.close(), logger, ['SIGTERM']);
    } else {
      onShutdownSignal(() => server.close(), logger);
    }
  } catch (error) {
    logger.error('failed to start', { error: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main();
}
