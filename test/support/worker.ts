import type { EventEmitter } from 'node:events';
import { devNull } from 'node:os';
import { unstable_startWorker } from 'wrangler';
import { ROOT } from './paths.ts';

export type TestWorker = {
  url: string;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Delivers a cron trigger with a given scheduledTime, like Cloudflare does (Miniflare's local endpoint). */
  scheduled(cron: string, scheduledTime: Date): Promise<Response>;
  /** What the Worker has written to its console so far, one entry per line. */
  logs(): string[];
  dispose(): Promise<void>;
};

// No network here: stop Miniflare fetching the Request.cf object from workers.cloudflare.com.
// startWorker has no option for it; vitest's NODE_ENV=test happens to skip it too, scripts do not.
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
process.env.WRANGLER_SEND_METRICS = 'false';

export type WorkerOptions = {
  /** A HYPERDRIVE binding whose local connection string is this URL (it must carry a password). */
  hyperdrive?: string;
};

/**
 * The real Worker (wrangler.toml, functions/worker.ts, the [build] step and static assets) under
 * workerd, with these vars over wrangler.toml's and nothing else. Postgres is reached over TCP
 * with pg, as in production. Resolves once workerd has loaded the Worker; rejects if it cannot.
 */
export async function startWorker(vars: Record<string, string>, options: WorkerOptions = {}): Promise<TestWorker> {
  const logs: string[] = [];
  const worker = await unstable_startWorker({
    config: `${ROOT}wrangler.toml`,
    bindings: {
      ...Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, { type: 'plain_text', value }])),
      ...(options.hyperdrive && {
        HYPERDRIVE: { type: 'hyperdrive', id: 'opsbase-test', localConnectionString: options.hyperdrive },
      }),
    },
    // Else wrangler adds the project's .dev.vars or .env to the Worker (a developer's DATABASE_URL
    // would reach every test): naming any env file skips .dev.vars, and an empty one adds nothing.
    envFiles: [devNull],
    dev: {
      server: { hostname: '127.0.0.1', port: 0 },
      inspector: false,
      watch: false,
      logLevel: 'warn',
      // The Worker's console is kept for the test (logs()), not printed: 503s log at error level.
      structuredLogsHandler: ({ message }: { message: string }) => logs.push(message),
    },
  });
  try {
    await workerLoaded(worker.raw);
  } catch (error) {
    // Tearing down a Worker that never started rethrows its startup error: ours says more.
    await worker.dispose().catch(() => undefined);
    throw error;
  }
  const url = String(await worker.url).replace(/\/$/, '');
  return {
    url,
    fetch: (path, init) => fetch(`${url}${path}`, init),
    scheduled: (cron, scheduledTime) =>
      fetch(`${url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent(cron)}&time=${scheduledTime.getTime()}`),
    logs: () => [...logs],
    dispose: () => worker.dispose(),
  };
}

/**
 * `worker.ready` only means the proxy in front of the Worker listens: requests queue there until
 * workerd has loaded the bundle, and forever if it refused it (an error at module scope).
 * startWorker returns before the bundle is built, so these listeners are always in time.
 */
function workerLoaded(devEnv: EventEmitter): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      devEnv.off('reloadComplete', onLoaded);
      devEnv.off('error', onFailed);
      devEnv.off('buildFailed', onFailed);
      if (error) reject(error);
      else resolve();
    };
    const onLoaded = () => settle();
    const onFailed = (event: unknown) => settle(new Error(`the Worker did not start: ${describeFailure(event)}`));
    devEnv.on('reloadComplete', onLoaded);
    devEnv.on('error', onFailed);
    devEnv.on('buildFailed', onFailed);
  });
}

/** DevEnv reports an Error, or an event with a reason and a cause (workerd's stderr is in its message). */
function describeFailure(event: unknown): string {
  if (event instanceof Error) return event.message;
  const { reason, cause } = event as { reason?: string; cause?: { message?: string } };
  return [reason, cause?.message].filter(Boolean).join(': ') || String(event);
}
