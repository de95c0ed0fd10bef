import { sql } from 'kysely';
import type { CronJobLog, JobStatus, JobTrigger } from '../../schema/database.ts';
import type { Db } from '../db/connection.ts';
import { cursorTimestamp, decodeCursor, olderThanCursor, type Page, pageOf } from '../pagination.ts';
import type { JobRun } from './types.ts';

export function toJobRun(row: CronJobLog): JobRun {
  return {
    id: row.id,
    jobName: row.job_name,
    status: row.status,
    trigger: row.trigger,
    scheduledFor: row.scheduled_for?.toISOString() ?? null,
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
    durationMs: row.duration_ms,
    recordsProcessed: row.records_processed,
    message: row.message,
    error: row.error,
    runtime: row.runtime,
  };
}

/**
 * Takes the job's lease for `leaseMs` unless someone else holds an unexpired one. Returns the
 * current holder when refused.
 */
export async function leaseJob(
  db: Db,
  jobName: string,
  holder: string,
  leaseMs: number,
): Promise<{ acquired: true } | { acquired: false; holder: string; lockedUntil: Date }> {
  const taken = await db
    .insertInto('job_locks')
    .values({ job_name: jobName, holder, locked_until: sql`now() + make_interval(secs => ${leaseMs / 1000})` })
    .onConflict((oc) =>
      oc
        .column('job_name')
        .doUpdateSet({ holder, locked_until: sql`excluded.locked_until`, acquired_at: sql`now()` })
        .where('job_locks.locked_until', '<', sql<Date>`now()`),
    )
    .returning('holder')
    .executeTakeFirst();
  if (taken) return { acquired: true };
  const current = await db
    .selectFrom('job_locks')
    .select(['holder', 'locked_until'])
    .where('job_name', '=', jobName)
    .executeTakeFirst();
  return { acquired: false, holder: current?.holder ?? 'unknown', lockedUntil: current?.locked_until ?? new Date() };
}

/** Extends the lease if `holder` still holds it (even lapsed, while nobody took it over); false if not. */
export async function renewLease(db: Db, jobName: string, holder: string, leaseMs: number): Promise<boolean> {
  const renewed = await db
    .updateTable('job_locks')
    .set({ locked_until: sql`now() + make_interval(secs => ${leaseMs / 1000})` })
    .where('job_name', '=', jobName)
    .where('holder', '=', holder)
    .returning('holder')
    .executeTakeFirst();
  return renewed !== undefined;
}

export async function releaseJob(db: Db, jobName: string, holder: string): Promise<void> {
  await db.deleteFrom('job_locks').where('job_name', '=', jobName).where('holder', '=', holder).execute();
}

const INTERRUPTED = 'interrupted: the process running this job stopped before it finished';

function interruptedUpdate(db: Db) {
  return db
    .updateTable('cron_job_logs')
    .set({
      status: 'error',
      error: INTERRUPTED,
      finished_at: sql`now()`,
      duration_ms: sql`(extract(epoch from (now() - started_at)) * 1000)::int`,
    })
    .where('status', '=', 'running');
}

/**
 * Rows left `running` by a process that died: once no live lease covers their job, nothing can
 * still be running it, so they are closed as error "interrupted" (for the views and the CLI).
 */
export async function closeInterruptedRuns(db: Db): Promise<number> {
  const result = await interruptedUpdate(db)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('job_locks')
            .select(sql`1`.as('one'))
            .whereRef('job_locks.job_name', '=', 'cron_job_logs.job_name')
            .where('job_locks.locked_until', '>=', sql<Date>`now()`),
        ),
      ),
    )
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** For the lease holder: every other `running` row of its job belongs to a process that died. */
export async function closeRunsOfOtherHolders(db: Db, jobName: string, holder: string): Promise<number> {
  const result = await interruptedUpdate(db)
    .where('job_name', '=', jobName)
    .where('holder', '!=', holder)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export type NewRun = {
  jobName: string;
  status: JobStatus;
  trigger: JobTrigger;
  scheduledFor: Date | null;
  runtime: string;
  holder: string;
  message?: string;
};

/** Inserts a run row; null when the scheduled slot already has one (a retried or duplicate event). */
export async function insertRun(db: Db, run: NewRun): Promise<CronJobLog | null> {
  const row = await db
    .insertInto('cron_job_logs')
    .values({
      job_name: run.jobName,
      status: run.status,
      trigger: run.trigger,
      scheduled_for: run.scheduledFor,
      runtime: run.runtime,
      holder: run.holder,
      message: run.message ?? null,
      ...(run.status === 'skipped' ? { finished_at: sql`now()`, duration_ms: 0 } : {}),
    })
    .onConflict((oc) => oc.columns(['job_name', 'scheduled_for']).where('scheduled_for', 'is not', null).doNothing())
    .returningAll()
    .executeTakeFirst();
  return row ?? null;
}

/** A claimed slot (a `skipped` row written before the lease) becomes the run: `running` from now. */
export async function startClaimedRun(db: Db, id: number): Promise<CronJobLog> {
  return db
    .updateTable('cron_job_logs')
    .set({ status: 'running', started_at: sql`now()`, finished_at: null, duration_ms: null, message: null })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** A claimed slot whose lease was held by another run stays `skipped`, saying why. */
export async function skipClaimedRun(db: Db, id: number, message: string): Promise<CronJobLog> {
  return db.updateTable('cron_job_logs').set({ message }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export async function finishRun(
  db: Db,
  id: number,
  outcome: {
    status: 'success' | 'error';
    durationMs: number;
    recordsProcessed: number | null;
    message: string | null;
    error: string | null;
  },
): Promise<CronJobLog> {
  return db
    .updateTable('cron_job_logs')
    .set({
      status: outcome.status,
      finished_at: sql`now()`,
      duration_ms: outcome.durationMs,
      records_processed: outcome.recordsProcessed,
      message: outcome.message,
      error: outcome.error,
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export type CronLogFilter = {
  job?: string;
  status?: JobStatus;
  from?: Date;
  to?: Date;
  limit: number;
  cursor?: string;
};

/** Newest first, keyset on (started_at, id). */
export async function listCronLogs(db: Db, filter: CronLogFilter): Promise<Page<JobRun>> {
  let query = db
    .selectFrom('cron_job_logs')
    .selectAll()
    .select(cursorTimestamp('started_at').as('cursor_at'))
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit + 1);
  if (filter.job) query = query.where('job_name', '=', filter.job);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.from) query = query.where('started_at', '>=', filter.from);
  if (filter.to) query = query.where('started_at', '<', filter.to);
  if (filter.cursor) {
    const [at, id] = decodeCursor(filter.cursor, ['timestamp', 'integer'] as const);
    query = query.where(olderThanCursor('started_at', 'id', at, id));
  }
  return pageOf(await query.execute(), filter.limit, toJobRun, (r) => [r.cursor_at, r.id]);
}

/** The newest run and the newest success of each job. */
export async function latestRuns(db: Db): Promise<Map<string, { last?: CronJobLog; lastSuccess?: CronJobLog }>> {
  const [last, lastSuccess] = await Promise.all([
    db
      .selectFrom('cron_job_logs')
      .selectAll()
      .distinctOn('job_name')
      .orderBy('job_name')
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .execute(),
    db
      .selectFrom('cron_job_logs')
      .selectAll()
      .distinctOn('job_name')
      .where('status', '=', 'success')
      .orderBy('job_name')
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .execute(),
  ]);
  const out = new Map<string, { last?: CronJobLog; lastSuccess?: CronJobLog }>();
  for (const row of last) out.set(row.job_name, { last: row });
  for (const row of lastSuccess) out.set(row.job_name, { ...out.get(row.job_name), lastSuccess: row });
  return out;
}

/** Deletes runs that started before the cutoff, in batches so no statement holds locks for long. */
export async function deleteRunsBefore(db: Db, cutoff: Date, batchSize: number, signal?: AbortSignal): Promise<number> {
  let total = 0;
  for (;;) {
    signal?.throwIfAborted();
    const result = await db
      .deleteFrom('cron_job_logs')
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('cron_job_logs')
          .select('id')
          .where('started_at', '<', cutoff)
          .where('status', '!=', 'running')
          .limit(batchSize),
      )
      .executeTakeFirst();
    const deleted = Number(result.numDeletedRows);
    total += deleted;
    if (deleted < batchSize) return total;
  }
}

export type FinishedRun = { status: 'success' | 'error'; error: string | null; startedAt: Date };

/** Each job's newest `perJob` finished runs (success or error), newest first. */
export async function recentFinishedRuns(db: Db, perJob: number): Promise<Map<string, FinishedRun[]>> {
  const rows = await db
    .selectFrom((eb) =>
      eb
        .selectFrom('cron_job_logs')
        .select([
          'job_name',
          'status',
          'error',
          'started_at',
          sql<number>`row_number() over (partition by job_name order by started_at desc, id desc)`.as('position'),
        ])
        .where('status', 'in', ['success', 'error'])
        .as('ranked'),
    )
    .selectAll()
    .where('position', '<=', perJob)
    .orderBy('job_name')
    .orderBy('position')
    .execute();
  const out = new Map<string, FinishedRun[]>();
  for (const row of rows) {
    const runs = out.get(row.job_name) ?? [];
    runs.push({ status: row.status as FinishedRun['status'], error: row.error, startedAt: row.started_at });
    out.set(row.job_name, runs);
  }
  return out;
}
