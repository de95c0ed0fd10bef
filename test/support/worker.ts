import { unstable_startWorker } from 'wrangler';
import { ROOT } from './paths.ts';

export type TestWorker = {
  url: string;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Delivers a cron trigger with a given scheduledTime, like Cloudflare does (Miniflare's local endpoint). */
  scheduled(cron: string, scheduledTime: Date): Promise<Response>;
  dispose(): Promise<void>;
};

// No network here: keep wrangler from fetching the Request.cf object from Cloudflare.
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
process.env.WRANGLER_SEND_METRICS = 'false';

/**
 * The real Worker (wrangler.toml, functions/worker.ts, the [build] step and static assets) under
 * workerd, with the given vars. Postgres is reached over TCP with pg, as in production.
 */
export async function startWorker(vars: Record<string, string>): Promise<TestWorker> {
  const worker = await unstable_startWorker({
    config: `${ROOT}wrangler.toml`,
    bindings: Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, { type: 'plain_text', value }])),
    dev: {
      server: { hostname: '127.0.0.1', port: 0 },
      inspector: false,
      watch: false,
      logLevel: 'error',
    },
  });
  await worker.ready;
  const url = String(await worker.url).replace(/\/$/, '');
  return {
    url,
    fetch: (path, init) => fetch(`${url}${path}`, init),
    scheduled: (cron, scheduledTime) =>
      fetch(`${url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent(cron)}&time=${scheduledTime.getTime()}`),
    dispose: () => worker.dispose(),
  };
}
