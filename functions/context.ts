import type { Config } from '../lib/config.ts';
import type { Db } from '../lib/db/connection.ts';
import type { Logger } from '../lib/logger.ts';
import type { RuntimeName } from '../lib/runtime.ts';
import type { Storage } from '../lib/storage.ts';

/** What every request can reach. Built once on Node, per request on Workers. */
export type Services = {
  config: Config;
  db: Db;
  storage: Storage | null;
  logger: Logger;
  runtime: RuntimeName;
  startedAt: number;
  /** Background work that must finish even after the response: waitUntil on Workers, a tracked promise on Node. */
  defer(work: Promise<unknown>): void;
};

export type AppEnv = {
  // biome-ignore lint/suspicious/noExplicitAny: bindings differ per runtime (Workers env, Node incoming request)
  Bindings: any;
  Variables: {
    services: Services;
    requestId: string;
  };
};

/** Supplies services to a request and takes them back afterwards (Workers close their connection). */
export type ServicesProvider = {
  acquire(request: { env: unknown; executionCtx: ExecutionLike | undefined }): Services | Promise<Services>;
  release?(services: Services): void;
};

export type ExecutionLike = { waitUntil(promise: Promise<unknown>): void };
