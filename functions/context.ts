import type { AccessClaims } from '../lib/auth/tokens.ts';
import type { AuthUserCache } from '../lib/auth/user-cache.ts';
import type { ScratchFactory } from '../lib/backup/drill.ts';
import type { Config } from '../lib/config.ts';
import type { Db } from '../lib/db/connection.ts';
import type { ScheduleView } from '../lib/jobs/schedule.ts';
import type { Logger } from '../lib/logger.ts';
import type { HttpMetrics } from '../lib/metrics/http-metrics.ts';
import type { ProcessMetrics } from '../lib/metrics/prometheus.ts';
import type { RequestLogWriter } from '../lib/observability/request-log-writer.ts';
import type { RateLimiter } from '../lib/rate-limit.ts';
import type { RuntimeName } from '../lib/runtime.ts';
import type { Storage } from '../lib/storage.ts';
import type { Role } from '../schema/database.ts';

/** What every request can reach. Built once on Node, per request on Workers. */
export type Services = {
  config: Config;
  db: Db;
  storage: Storage | null;
  logger: Logger;
  runtime: RuntimeName;
  /** This process or isolate, as job leases and logs name it (host:pid:random on Node). */
  instanceId: string;
  startedAt: number;
  /** Users' current role and active state, briefly remembered (see AUTH_CACHE_TTL). */
  authUsers: AuthUserCache;
  /** The API rate limiter of this process (Node) or isolate (Workers); null when THROTTLE_LIMIT=0. */
  rateLimiter: RateLimiter | null;
  /** Request logs, buffered and written off the hot path. */
  requestLogs: RequestLogWriter;
  /**
   * What fires the jobs, when the deployment has something that does: the in-process scheduler
   * (Node, ENABLE_SCHEDULED_TASKS) or Cron Triggers (Workers, wrangler.toml's [triggers] crons).
   */
  scheduler?: ScheduleView;
  /** CPU, memory, disk, process and event-loop figures (Node only). */
  hostMetrics?: () => Promise<Record<string, unknown>>;
  /** pg pool usage (Node only; Workers use a connection per request). */
  poolStats?: () => { total: number; idle: number; waiting: number; max: number };
  /** Serves a bundled static asset by name (Swagger UI files); null where the runtime serves them itself. */
  assets?: (name: string) => Promise<Response | null>;
  /** Where a restore drill restores to when the server cannot make a database (Node: a scratch PGlite). */
  scratchDatabase?: ScratchFactory;
  /** Request counters and latency histogram of this process or isolate (GET /metrics). */
  httpMetrics: HttpMetrics;
  /** In a cluster: every worker's in-memory figures, gathered through the primary. */
  collectProcessMetrics?: () => Promise<ProcessMetrics[]>;
  /** Background work that must finish even after the response: waitUntil on Workers, a tracked promise on Node. */
  defer(work: Promise<unknown>): void;
};

/** Who is calling, once requireAuth has passed. Role and active state come from the database, not the token. */
export type AuthContext = { userId: string; role: Role; email: string; name: string };

export type AppEnv = {
  // biome-ignore lint/suspicious/noExplicitAny: bindings differ per runtime (Workers env, Node incoming request)
  Bindings: any;
  Variables: {
    services: Services;
    requestId: string;
    /** The client's address (X-Forwarded-For only through TRUSTED_PROXIES; CF-Connecting-IP on Workers). */
    clientIp: string;
    auth: AuthContext | undefined;
    /** What the error envelope said, for the request log. */
    loggedError: { code: string; message: string } | undefined;
    /** Access-token claims verified once per request (by the rate limiter or requireAuth). */
    tokenClaims: AccessClaims | null | undefined;
  };
};

/** Supplies services to a request and takes them back afterwards (Workers close their connection). */
export type ServicesProvider = {
  acquire(request: { env: unknown; executionCtx(): ExecutionLike | undefined }): Services | Promise<Services>;
  release?(services: Services): void;
};

export type ExecutionLike = { waitUntil(promise: Promise<unknown>): void };
