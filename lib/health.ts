import { sql } from 'kysely';
import type { Db } from './db/connection.ts';
import { APP_VERSION, type RuntimeName, withTimeout } from './runtime.ts';
import { pingStorage, type Storage } from './storage.ts';

export type DependencyStatus =
  | { status: 'up'; latencyMs: number }
  | { status: 'down'; latencyMs: number; message: string }
  | { status: 'unconfigured'; message: string };

export type HealthReport = {
  status: 'ok' | 'error';
  info: Record<string, DependencyStatus>;
  error: Record<string, DependencyStatus>;
  details: Record<string, DependencyStatus>;
  uptimeSeconds: number;
  version: string;
  commit: string | null;
  runtime: RuntimeName;
};

export type HealthDeps = {
  db: Db;
  storage: Storage | null;
  timeoutMs: number;
  startedAt: number;
  runtime: RuntimeName;
  commit: string | undefined;
};

async function probe(
  what: string,
  timeoutMs: number,
  run: (signal: AbortSignal) => Promise<unknown>,
): Promise<DependencyStatus> {
  const started = performance.now();
  const controller = new AbortController();
  try {
    await withTimeout(run(controller.signal), timeoutMs, what);
    return { status: 'up', latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (error) {
    controller.abort();
    return {
      status: 'down',
      latencyMs: Math.round(performance.now() - started),
      message: describeFailure(error),
    };
  }
}

function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // AWS SDK errors for HEAD carry no body; name + status is the useful part.
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = (error as { code?: string }).code;
  const base = error.message && error.message !== 'UnknownError' ? error.message : error.name;
  return [base, code && !base.includes(code) ? `(${code})` : '', status ? `(HTTP ${status})` : '']
    .filter(Boolean)
    .join(' ');
}

/** Checks every dependency in parallel; answers within timeoutMs even when one hangs. */
export async function checkHealth(deps: HealthDeps): Promise<HealthReport> {
  const [database, storage] = await Promise.all([
    probe('database', deps.timeoutMs, () => sql`select 1`.execute(deps.db)),
    deps.storage
      ? probe('storage', deps.timeoutMs, (signal) => pingStorage(deps.storage as Storage, signal))
      : Promise.resolve<DependencyStatus>({ status: 'unconfigured', message: 'S3_ENDPOINT is not set' }),
  ]);
  const details = { database, storage };
  const info: Record<string, DependencyStatus> = {};
  const error: Record<string, DependencyStatus> = {};
  for (const [name, result] of Object.entries(details)) {
    if (result.status === 'down') error[name] = result;
    else info[name] = result;
  }
  return {
    status: Object.keys(error).length === 0 ? 'ok' : 'error',
    info,
    error,
    details,
    uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
    version: APP_VERSION,
    commit: deps.commit ?? null,
    runtime: deps.runtime,
  };
}
