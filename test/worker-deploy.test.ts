import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { WORKER_SIZE_LIMITS } from '../deploy/worker-bundle.ts';
import { scheduleSet } from '../lib/jobs/registry.ts';
import { scratchDir } from './support/paths.ts';
import { spawnProject } from './support/processes.ts';

// `npm run deploy:worker -- --dry-run`: the real script, which runs `wrangler deploy --dry-run`
// to build the Worker bundle, then measures it. Nothing is uploaded (no Cloudflare account here).

describe('npm run deploy:worker -- --dry-run', () => {
  const outdir = join(scratchDir('worker-deploy'), 'bundle');
  afterAll(() => rmSync(join(outdir, '..'), { recursive: true, force: true }));

  it('builds the bundle, prints its size against the limits and the deploy command with commit and time', async () => {
    const deploy = spawnProject(['--import', 'tsx', 'deploy/worker.ts', '--dry-run', '--outdir', outdir], {
      WRANGLER_SEND_METRICS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    });
    expect(await deploy.exited, deploy.output()).toBe(0);
    const output = deploy.output();

    expect(output).toContain(`Cron triggers: ${scheduleSet().sort().join(', ')}`);
    const size = /Worker bundle: ([\d.]+) KiB, gzip ([\d.]+) KiB \(worker\.js\)/.exec(output);
    expect(size, output).not.toBeNull();
    const bundle = readFileSync(join(outdir, 'worker.js'));
    // The printed figures are the file wrangler wrote, to the tenth of a KiB it prints (a size of
    // x.x5 rounds to either side of the tenth: within half of it, the edge included).
    const printed = (figure: string | undefined, bytes: number) => Math.abs(Number(figure) - bytes / 1024);
    expect(printed(size?.[1], bundle.length)).toBeLessThanOrEqual(0.05 + 1e-9);
    expect(printed(size?.[2], gzipSync(bundle, { level: 9 }).length)).toBeLessThanOrEqual(0.05 + 1e-9);
    expect(bundle.length).toBeGreaterThan(100_000);
    expect(gzipSync(bundle).length).toBeLessThan(WORKER_SIZE_LIMITS.free);
    // It is the Opsbase Worker, alert engine and /metrics included.
    const source = bundle.toString();
    expect(source).toContain('alert_incidents');
    expect(source).toContain('opsbase_http_requests_total');
    expect(existsSync(join(outdir, 'worker.js.map'))).toBe(true);

    const command = /Dry run: would run wrangler (deploy .*)/.exec(output)?.[1] ?? '';
    expect(command).toMatch(
      /--var DEPLOY_COMMIT:[0-9a-f]{7,}(-dirty)? --var DEPLOY_TIME:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
    expect(output).toMatch(/Database: (Hyperdrive|the DATABASE_URL secret)/);
  }, 240_000);
});
