import type { JobTrigger } from '../../schema/database.ts';
import type { ScratchFactory } from '../backup/drill.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/connection.ts';
import type { Logger } from '../logger.ts';
import type { Storage } from '../storage.ts';

/** What a job handler gets. Handlers should stop when `signal` aborts (the run's timeout). */
export type JobContext = {
  db: Db;
  config: Config;
  storage: Storage | null;
  logger: Logger;
  signal: AbortSignal;
  /** Options a manual run passes (e.g. `--full` for a resync). */
  options: Record<string, unknown>;
  /** Where a restore drill may restore to when the server cannot make a scratch database (embedded PGlite). */
  scratchDatabase?: ScratchFactory;
};

export type JobResult = { recordsProcessed: number; message: string };

export type JobDefinition = {
  name: string;
  /** Cron expression, UTC. */
  schedule: string;
  timeoutMs: number;
  description: string;
  /** Other names the HTTP trigger accepts (the deployment plan's /api/cron/leads, ...). */
  aliases?: string[];
  /**
   * Why the job cannot run under this configuration (its source is not set), or null. Schedulers
   * leave such a job out; a manual or HTTP trigger still runs it and records the reason as its error.
   */
  unconfigured?(config: Config): string | null;
  handler(ctx: JobContext): Promise<JobResult>;
};

export type TriggerSpec = { kind: JobTrigger; scheduledFor?: Date; options?: Record<string, unknown> };

/** A run as the API and CLI show it. */
export type JobRun = {
  id: number | null;
  jobName: string;
  status: 'running' | 'success' | 'error' | 'skipped';
  trigger: JobTrigger;
  scheduledFor: string | null;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  recordsProcessed: number | null;
  message: string | null;
  error: string | null;
  runtime: string;
};
