import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { crontabFor } from '../../lib/jobs/crontab.ts';
import { findJob, JOBS } from '../../lib/jobs/registry.ts';
import { runJob } from '../../lib/jobs/runner.ts';
import { jobStatuses } from '../../lib/jobs/status.ts';
import { createLogger } from '../../lib/logger.ts';
import { createStorage } from '../../lib/storage.ts';
import { cliConfig, withDatabase } from './context.ts';
import { printTable } from './table.ts';

export function cronCommand(): Command {
  const cron = new Command('cron').description('List, run and schedule jobs');

  cron
    .command('list')
    .description('Every job with its schedule (UTC), last run and next run')
    .action(async () => {
      await withDatabase(cliConfig(), async (db) => {
        const rows = [['JOB', 'SCHEDULE', 'LAST RUN', 'STATUS', 'NEXT RUN', '']];
        for (const job of await jobStatuses(db, JOBS)) {
          rows.push([
            job.name,
            job.schedule,
            job.lastRun?.startedAt ?? 'never',
            job.lastRun
              ? `${job.lastRun.status}${job.lastRun.durationMs !== null ? ` ${job.lastRun.durationMs} ms` : ''}`
              : '-',
            job.nextRunAt ?? '-',
            job.late ? 'LATE' : '',
          ]);
        }
        printTable(rows);
      });
    });

  cron
    .command('run <job>')
    .description('Run a job now, recorded like every run (trigger "manual"); exit 1 when it fails or is skipped')
    .option('--full', 'for sync jobs: start again from the beginning (idempotent)')
    .action(async (name: string, options: { full?: boolean }) => {
      const job = findJob(name);
      if (!job) {
        console.error(`error: unknown job ${name}. Jobs: ${JOBS.map((j) => j.name).join(', ')}`);
        process.exit(1);
      }
      const config = cliConfig();
      const logger = createLogger(config.logLevel === 'debug' ? 'debug' : 'warn', { cli: 'cron run' });
      await withDatabase(config, async (db) => {
        const result = await runJob(
          {
            db,
            config,
            storage: config.s3 ? createStorage(config.s3) : null,
            logger,
            runtime: 'node',
            holder: `${hostname()}:${process.pid}:cli`,
          },
          job,
          { kind: 'manual', options: { full: Boolean(options.full) } },
        );
        const run = result.run;
        if (result.outcome === 'success' && run) {
          console.log(
            `${job.name}: success in ${run.durationMs} ms, ${run.recordsProcessed} records. ${run.message ?? ''}`,
          );
        } else if (result.outcome === 'error' && run) {
          console.error(`${job.name}: error after ${run.durationMs} ms: ${run.error}`);
          process.exitCode = 1;
        } else {
          console.error(`${job.name}: skipped, ${run?.message ?? 'another run holds the lease'}`);
          process.exitCode = 1;
        }
      });
    });

  cron
    .command('crontab')
    .description('Print crontab lines that call deploy/cron-run.sh (no secret in the crontab)')
    .option('--wrapper <path>', 'the wrapper script on the server', resolve('deploy/cron-run.sh'))
    .option('--env-file <path>', 'the env file holding CRON_SECRET', '/opt/opsbase/.env.production')
    .option('--log-dir <dir>', 'where each job appends its output', '/var/log')
    .action((options: { wrapper: string; envFile: string; logDir: string }) => {
      process.stdout.write(crontabFor(JOBS, options));
    });

  return cron;
}
