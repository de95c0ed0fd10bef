import { DOMParser, Node } from '@xmldom/xmldom';
import { alertsConfigured, checkAlerts, createAlertMemory } from '../lib/alerts/monitor.ts';
import { AuthUserCache } from '../lib/auth/user-cache.ts';
import { type Config, ConfigError, parseConfig } from '../lib/config.ts';
import { createDb, createPool } from '../lib/db/connection.ts';
import { JOBS, scheduledJobs } from '../lib/jobs/registry.ts';
import { runJob } from '../lib/jobs/runner.ts';
import { scheduleView, slotOf } from '../lib/jobs/schedule.ts';
import { createLogger } from '../lib/logger.ts';
import { HttpMetrics } from '../lib/metrics/http-metrics.ts';
import { RequestLogWriter } from '../lib/observability/request-log-writer.ts';
import { type RateLimiter, rateLimiterFor } from '../lib/rate-limit.ts';
import { createStorage, type Storage } from '../lib/storage.ts';
import { alertDeps } from './alert-deps.ts';
import { createApp } from './app.ts';
import type { ExecutionLike, Services, ServicesProvider } from './context.ts';
import { runnerDeps } from './jobs-http.ts';

export type WorkerEnv = Record<string, unknown> & {
  /** A Hyperdrive binding; when present its connection string wins over DATABASE_URL. */
  HYPERDRIVE?: { connectionString: string };
  /** Static assets (Swagger UI), see wrangler.toml [assets]. */
  ASSETS?: { fetch(request: Request | string): Promise<Response> };
};

type IsolateState =
  | {
      config: Config;
      storage: Storage | null;
      rateLimiter: RateLimiter | null;
      authUsers: AuthUserCache;
      requestLogs: RequestLogWriter;
      httpMetrics: HttpMetrics;
    }
  | { error: ConfigError };

// The AWS SDK's browser build parses S3's XML answers (list calls, errors) with a DOMParser and
// reads Node's node-type constants; workerd has neither.
(globalThis as { DOMParser?: unknown }).DOMParser ??= DOMParser;
(globalThis as { Node?: unknown }).Node ??= Node;

// Config and the S3 client are per isolate (the env object is stable across requests);
// database connections are per request, because Workers cannot share sockets between requests.
const isolates = new WeakMap<object, IsolateState>();
// Workers freeze the clock at module scope (Date.now() is 0 there), so the isolate's start is
// taken at its first request.
let startedAt: number | undefined;
// Random values are also refused at module scope: the isolate's id is made at its first request.
let instanceId: string | undefined;

function isolateState(env: WorkerEnv): IsolateState {
  let state = isolates.get(env);
  if (!state) {
    try {
      const config = parseConfig(env);
      if (!env.HYPERDRIVE?.connectionString && !config.databaseUrl) {
        throw new ConfigError([{ variable: 'DATABASE_URL', message: 'required on Workers (or a HYPERDRIVE binding)' }]);
      }
      state = {
        config,
        storage: config.s3 ? createStorage(config.s3) : null,
        rateLimiter: rateLimiterFor(config),
        authUsers: new AuthUserCache(config.authCacheTtlSeconds),
        requestLogs: new RequestLogWriter({ maxBuffered: config.requestLogBufferMax }),
        httpMetrics: new HttpMetrics(),
      };
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      // Once per isolate, so `wrangler tail` shows why every request answers CONFIG_INVALID.
      console.error(`Invalid configuration: ${error.problems.map((p) => p.variable).join(', ')} (see .env.example)`);
      state = { error };
    }
    isolates.set(env, state);
  }
  return state;
}

/** This isolate's memory of an unreachable database (the one alert state that cannot be stored). */
const alertMemory = createAlertMemory();

/** Background work each request deferred, so its connection outlives it. */
const requestWork = new WeakMap<Services, Promise<unknown>[]>();

const provider: ServicesProvider = {
  acquire({ env, executionCtx }) {
    startedAt ??= Date.now();
    instanceId ??= `workerd:${crypto.randomUUID().slice(0, 8)}`;
    const state = isolateState(env as WorkerEnv);
    if ('error' in state) throw state.error;
    const { config, storage, rateLimiter, authUsers, requestLogs, httpMetrics } = state;
    const ctx = executionCtx();
    const deferred: Promise<unknown>[] = [];
    const logger = createLogger(config.logLevel, { runtime: 'workerd' });
    const url = (env as WorkerEnv).HYPERDRIVE?.connectionString ?? (config.databaseUrl as string);
    // Pools connect lazily: a request that never touches the database opens no connection.
    // Two: a job's lease heartbeat must get a connection while a backup's snapshot holds one.
    const pool = createPool(url, {
      max: 2,
      ssl: config.databaseSsl,
      connectTimeoutMs: config.databaseConnectTimeoutMs,
      onError: (error) => logger.warn('database connection lost', { error: error.message }),
    });
    const services: Services = {
      config,
      db: createDb(pool),
      storage,
      rateLimiter,
      authUsers,
      requestLogs,
      httpMetrics,
      logger,
      runtime: 'workerd',
      // Cron Triggers fire every configured job (wrangler.toml's crons are made from JOBS).
      scheduler: scheduleView(
        JOBS.filter((job) => !job.unconfigured?.(config)),
        'cron-triggers',
      ),
      instanceId,
      startedAt,
      assets: async (name) => {
        const assets = (env as WorkerEnv).ASSETS;
        if (!assets) return null;
        const response = await assets.fetch(`http://assets.local/api/docs/assets/${name}`);
        return response.ok ? response : null;
      },
      defer(work) {
        const guarded = work.catch((error: unknown) => logger.error('background work failed', { error }));
        deferred.push(guarded);
        ctx?.waitUntil(guarded);
      },
    };
    requestWork.set(services, deferred);
    return services;
  },
  release(services) {
    // The connection closes after the request's background work (e.g. the request-log write).
    const work = requestWork.get(services) ?? [];
    services.defer(Promise.allSettled(work).then(() => services.db.destroy()));
  },
};

const app = createApp(provider);

/** The Workers module: fetch for HTTP, scheduled for wrangler.toml's [triggers] crons. */
type WorkerHandler = {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionLike & { passThroughOnException?(): void }): Promise<Response>;
  scheduled(controller: { cron: string; scheduledTime: number }, env: WorkerEnv, ctx: ExecutionLike): Promise<void>;
};

export default {
  fetch: async (request, env, ctx) => app.fetch(request, env, ctx as Parameters<typeof app.fetch>[2]),
  /**
   * Runs every job whose schedule is this trigger's cron, for the slot of its scheduledTime: a
   * retried delivery of the same event finds the slot taken and runs nothing.
   */
  async scheduled(controller, env, ctx) {
    const services = await provider.acquire({ env, executionCtx: () => ctx });
    try {
      const scheduledFor = slotOf(new Date(controller.scheduledTime));
      const due = scheduledJobs(JOBS, services.config, services.logger).filter(
        (job) => job.schedule === controller.cron,
      );
      if (due.length === 0) services.logger.warn('no job has this cron schedule', { cron: controller.cron });
      await Promise.all(due.map((job) => runJob(runnerDeps(services), job, { kind: 'schedule', scheduledFor })));
      // Workers have no timers between events: the alert rules are checked on every cron event.
      if (alertsConfigured(services.config)) {
        await checkAlerts(alertDeps(services), alertMemory).catch((error: Error) =>
          services.logger.error('alert check failed', { error: error.message }),
        );
      }
    } finally {
      provider.release?.(services);
    }
  },
} satisfies WorkerHandler;
