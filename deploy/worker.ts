/**
 * `npm run deploy:worker`: deploys the bundle to Cloudflare Workers (README: "Workers guide").
 * Checks that wrangler.toml's cron triggers are the job registry's, builds the Worker and prints
 * its size against Cloudflare's limits, then runs `wrangler deploy` with DEPLOY_COMMIT and
 * DEPLOY_TIME as vars.
 *   npm run deploy:worker -- [--dry-run] [--migrate] [--allow-dirty] [--outdir DIR]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseToml } from 'smol-toml';
import { scheduleSet } from '../lib/jobs/registry.ts';
import { buildWorkerBundle, kib, runWrangler, WORKER_SIZE_LIMITS, wranglerVars } from './worker-bundle.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

type WranglerToml = { triggers?: { crons?: string[] }; hyperdrive?: { binding?: string; id?: string }[] };

function fail(message: string): never {
  console.error(`deploy:worker: ${message}`);
  process.exit(1);
}

const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

async function main() {
  const { values } = parseArgs({
    options: {
      'dry-run': { type: 'boolean', default: false },
      migrate: { type: 'boolean', default: false },
      'allow-dirty': { type: 'boolean', default: false },
      outdir: { type: 'string', default: join(ROOT, 'dist/worker') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(`Usage: npm run deploy:worker -- [--dry-run] [--migrate] [--allow-dirty]

  --dry-run      build and measure the Worker, print the deploy command, deploy nothing
  --migrate      first apply pending migrations with the CLI (needs DATABASE_URL in this shell:
                 the database's direct URL, not Hyperdrive's)
  --allow-dirty  deploy uncommitted changes (DEPLOY_COMMIT then ends in "-dirty")
  --outdir DIR   where the measured bundle is written (default dist/worker)`);
    return;
  }

  const dirty = git('status', '--porcelain') !== '';
  if (dirty && !values['dry-run'] && !values['allow-dirty']) {
    fail('the working tree has uncommitted changes: commit them (or pass --allow-dirty)');
  }
  const commit = `${git('rev-parse', '--short', 'HEAD')}${dirty ? '-dirty' : ''}`;
  const deployedAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const vars = { DEPLOY_COMMIT: commit, DEPLOY_TIME: deployedAt };
  console.log(`Deploying ${commit} at ${deployedAt}`);

  // Cron triggers come from the job registry; wrangler.toml must say the same.
  const toml = parseToml(readFileSync(join(ROOT, 'wrangler.toml'), 'utf8')) as WranglerToml;
  const crons = [...(toml.triggers?.crons ?? [])].sort();
  const wanted = scheduleSet().sort();
  if (JSON.stringify(crons) !== JSON.stringify(wanted)) {
    fail(`wrangler.toml [triggers] crons ${JSON.stringify(crons)} differ from the job registry's: set
  crons = ${JSON.stringify(wanted)}`);
  }
  console.log(`Cron triggers: ${wanted.join(', ')}`);
  const hyperdrive = toml.hyperdrive?.find((h) => h.binding === 'HYPERDRIVE');
  console.log(
    hyperdrive
      ? `Database: Hyperdrive ${hyperdrive.id} (binding HYPERDRIVE)`
      : 'Database: the DATABASE_URL secret (wrangler secret put DATABASE_URL), no Hyperdrive binding',
  );

  if (values.migrate) {
    if (!process.env.DATABASE_URL) fail('--migrate needs DATABASE_URL (the direct URL) in this shell');
    console.log('Migrating the database');
    const migrated = spawnSync(process.execPath, ['bin/opsbase.mjs', 'migrate', 'latest'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    if (migrated.status !== 0) fail('migrations failed: nothing was deployed');
  }

  const bundle = await buildWorkerBundle(ROOT, values.outdir, vars);
  console.log(
    `Worker bundle: ${kib(bundle.bytes)}, gzip ${kib(bundle.gzipBytes)} (${bundle.files.join(', ')}); ` +
      `limits: ${kib(WORKER_SIZE_LIMITS.free)} free plan, ${kib(WORKER_SIZE_LIMITS.paid)} paid`,
  );
  if (bundle.gzipBytes > WORKER_SIZE_LIMITS.paid) fail('the bundle is over the paid plan limit');
  if (bundle.gzipBytes > WORKER_SIZE_LIMITS.free) console.warn('warning: over the free plan limit (3 MiB gzip)');

  const args = ['deploy', ...wranglerVars(vars)];
  if (values['dry-run']) {
    console.log(`Dry run: would run wrangler ${args.join(' ')}`);
    return;
  }
  await runWrangler(ROOT, args, 'inherit');
  console.log(`Deployed ${commit}. Check it: curl https://<your worker>/api/health`);
}

main().catch((error: Error) => fail(error.message));
