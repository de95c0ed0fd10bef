// The job runner's own cost around an empty job (lease, running row, outcome, release), beside
// one plain query round trip on the same connection measured in the same run.
import { sql } from 'kysely';
import { parseConfig } from '../lib/config.ts';
import { createDb, createPool, type Db } from '../lib/db/connection.ts';
import { migrateOrThrow } from '../lib/db/migrate.ts';
import { runJob } from '../lib/jobs/runner.ts';
import type { JobDefinition } from '../lib/jobs/types.ts';
import { createLogger } from '../lib/logger.ts';
import { startEmbeddedPostgres } from '../local/embedded-postgres.ts';
import { jwtSecretForScratch } from './support/jwt-secret.ts';
import { scratchDir } from './support/paths.ts';
import { progress } from './support/progress.ts';
import { positiveNumberFromEnv } from './support/settings.ts';
import { percentile, timeMany } from './support/stats.ts';
import { formatTable } from './support/table.ts';
import type { Verdict } from './support/verdict.ts';

const TARGET_P50_MS = 5;
const say = progress('jobs');

const emptyJob: JobDefinition = {
  name: 'bench_empty',
  schedule: '* * * * *',
  timeoutMs: 60_000,
  description: 'does nothing',
  handler: async () => ({ recordsProcessed: 0, message: '' }),
};

export async function run(): Promise<Verdict[]> {
  const runs = positiveNumberFromEnv('BENCH_RUNS', 500);
  const dataDir = scratchDir('jobs');
  const externalUrl = process.env.DATABASE_URL;
  const embedded = externalUrl ? undefined : await startEmbeddedPostgres({ dataDir: dataDir.path, port: 0 });
  const url = externalUrl ?? (embedded?.url as string);
  say(externalUrl ? 'database: DATABASE_URL' : `database: embedded PGlite in ${dataDir.path}`);
  const db: Db = createDb(createPool(url, { max: 1 }));
  try {
    await migrateOrThrow(db);
    const config = parseConfig({ ...process.env, DATABASE_URL: url, JWT_SECRET: jwtSecretForScratch() });
    const deps = { db, config, storage: null, logger: createLogger('error'), runtime: 'node', holder: 'bench' };
    say(`warming up, then ${runs} empty runs and ${runs} single queries`);
    await timeMany(50, () => runJob(deps, emptyJob, { kind: 'manual' }));
    const query = await timeMany(runs, () => sql`select 1`.execute(db));
    const runner = await timeMany(runs, () => runJob(deps, emptyJob, { kind: 'manual' }));
    await db.deleteFrom('cron_job_logs').where('job_name', '=', emptyJob.name).execute();

    console.log(`\n${runs} sequential runs each, one connection\n`);
    console.log(
      formatTable(
        ['what', 'p50 ms', 'p99 ms'],
        [
          ['one query round trip (anchor)', percentile(query, 50).toFixed(2), percentile(query, 99).toFixed(2)],
          ['runner around an empty job', percentile(runner, 50).toFixed(2), percentile(runner, 99).toFixed(2)],
        ],
      ),
    );
    const p50 = percentile(runner, 50);
    console.log(`\nrunner / round trip p50: ${(p50 / percentile(query, 50)).toFixed(1)}x (it makes 5 statements)\n`);
    return [
      {
        bench: 'jobs',
        target: `runner overhead p50 < ${TARGET_P50_MS} ms`,
        measured: `${p50.toFixed(2)} ms`,
        pass: p50 < TARGET_P50_MS,
      },
    ];
  } finally {
    await db.destroy();
    await embedded?.stop();
    dataDir.remove();
  }
}
