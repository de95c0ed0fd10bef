// The Worker bundle's size, built exactly as `wrangler deploy` would, beside a bare Hono Worker
// built the same way in the same run (the anchor: what any Hono Worker costs).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildWorkerBundle, kib, WORKER_SIZE_LIMITS } from '../deploy/worker-bundle.ts';
import { ROOT, scratchDir } from './support/paths.ts';
import { progress } from './support/progress.ts';
import { formatTable } from './support/table.ts';
import type { Verdict } from './support/verdict.ts';

/** The budget for the gzipped bundle (Cloudflare's free plan allows 3 MiB). */
const TARGET_BYTES = 1024 * 1024;

const say = progress('bundle');

export async function run(): Promise<Verdict[]> {
  const scratch = scratchDir('bundle');
  try {
    say('building the Opsbase Worker (wrangler deploy --dry-run)');
    const opsbase = await buildWorkerBundle(ROOT, join(scratch.path, 'opsbase'), { DEPLOY_COMMIT: 'bench' });
    say('building a bare Hono Worker the same way');
    // Inside the project, so `hono` resolves from its node_modules.
    writeFileSync(
      join(scratch.path, 'hello.ts'),
      "import { Hono } from 'hono';\nexport default new Hono().get('/', (c) => c.text('hello'));\n",
    );
    writeFileSync(
      join(scratch.path, 'wrangler.toml'),
      'name = "hello"\nmain = "hello.ts"\ncompatibility_date = "2026-11-17"\ncompatibility_flags = ["nodejs_compat"]\n',
    );
    const hello = await buildWorkerBundle(
      ROOT,
      join(scratch.path, 'hello'),
      {},
      {
        config: join(scratch.path, 'wrangler.toml'),
      },
    );
    console.log('\nWorker bundles (what wrangler deploy uploads, source maps excluded)\n');
    console.log(
      formatTable(
        ['worker', 'raw', 'gzip'],
        [
          ['Opsbase (functions/worker.ts)', kib(opsbase.bytes), kib(opsbase.gzipBytes)],
          ['bare Hono hello', kib(hello.bytes), kib(hello.gzipBytes)],
        ],
      ),
    );
    console.log(
      `\nOpsbase / hello (gzip): ${(opsbase.gzipBytes / hello.gzipBytes).toFixed(1)}x; ` +
        `${((opsbase.gzipBytes / WORKER_SIZE_LIMITS.free) * 100).toFixed(0)}% of the free plan's 3 MiB\n`,
    );
    return [
      {
        bench: 'bundle',
        target: `Worker bundle gzipped < ${kib(TARGET_BYTES)} (free plan limit ${kib(WORKER_SIZE_LIMITS.free)})`,
        measured: kib(opsbase.gzipBytes),
        pass: opsbase.gzipBytes < TARGET_BYTES,
      },
    ];
  } finally {
    scratch.remove();
  }
}
