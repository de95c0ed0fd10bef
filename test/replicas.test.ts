import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOBS } from '../lib/jobs/registry.ts';
import { cronFor, slotOf } from '../lib/jobs/schedule.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { type ServerProcess, startServerProcess } from './support/node-server.ts';
import { waitFor } from './support/processes.ts';

// Two Node server processes on one database, both running the in-process scheduler, over a
// simulated hour of every job in the registry (jobs added later are covered without an edit).
// Time is simulated with SCHEDULER_CLOCK (tests only): both processes share one accelerated
// timeline, so they fire the same slots at the same real moment, and each slot goes through the
// real runner: the slot claim, the lease and (job_name, scheduled_for) uniqueness decide.
// Contract: every slot of the hour runs exactly once, and both processes fired every slot.

/** An hour with a 5-minute job's twelve slots, log_cleanup's 03:00 and nothing daily at 02:00. */
const WINDOW_START = new Date('2026-01-01T02:30:00.000Z');
const WINDOW_END = new Date('2026-01-01T03:30:00.000Z');
/** Simulated seconds per real second: the hour takes 15 s. */
const SPEED = 240;
/** Real time for both processes to start before the simulated hour begins. */
const LEAD_MS = 20_000;

type Fired = { job: string; slot: string; outcome: string; process: number };

describe.each(databaseKinds())('two replicas with the in-process scheduler over a simulated hour (%s)', (kind) => {
  let database: TestDatabase;
  let replicas: ServerProcess[] = [];
  const expected = JOBS.flatMap((job) => {
    const cron = cronFor(job.schedule);
    const slots: string[] = [];
    for (let at = cron.nextRun(new Date(WINDOW_START.getTime() - 1)); at && at < WINDOW_END; at = cron.nextRun(at)) {
      slots.push(slotOf(at).toISOString());
    }
    return slots.map((slot) => `${job.name} ${slot}`);
  });

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    const realStart = new Date(Date.now() + LEAD_MS);
    const env = {
      DATABASE_URL: database.url,
      ENABLE_SCHEDULED_TASKS: 'true',
      SCHEDULER_CLOCK: `${WINDOW_START.toISOString()}@${realStart.toISOString()}*${SPEED}`,
    };
    replicas = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    if (Date.now() >= realStart.getTime()) {
      throw new Error(`the replicas took more than ${LEAD_MS} ms to start: the simulated hour began without them`);
    }
    // The hour passes in real time (WINDOW / SPEED); then every slot of it must have finished.
    const realEnd = realStart.getTime() + (WINDOW_END.getTime() - WINDOW_START.getTime()) / SPEED;
    await waitFor(async () => Date.now() > realEnd, LEAD_MS + 120_000, 'the end of the simulated hour');
    await waitFor(
      async () => {
        const open = await database.db
          .selectFrom('cron_job_logs')
          .select('id')
          .where('status', '=', 'running')
          .execute();
        return open.length === 0 && expected.every((key) => firedBy(key).length === 2);
      },
      60_000,
      'every slot of the hour fired by both replicas and finished',
    );
  }, 300_000);
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await database?.drop();
  });

  /** What the replicas logged for each slot they fired. */
  function fired(): Fired[] {
    return replicas.flatMap((replica, process) =>
      replica
        .output()
        .split('\n')
        .filter((line) => line.includes('"scheduled job finished"'))
        .map((line) => ({ ...(JSON.parse(line) as Omit<Fired, 'process'>), process })),
    );
  }
  const firedBy = (key: string) => fired().filter((f) => `${f.job} ${f.slot}` === key);

  it('the registry has slots in the simulated hour', () => {
    expect(expected.length).toBeGreaterThan(0);
  });

  it('every slot of the hour ran exactly once: one row each, run (success or error), none skipped or left running', async () => {
    const rows = await database.db
      .selectFrom('cron_job_logs')
      .select(['job_name', 'scheduled_for', 'status', 'trigger', 'holder', 'error'])
      .where('scheduled_for', '>=', WINDOW_START)
      .where('scheduled_for', '<', WINDOW_END)
      .execute();
    const keys = rows.map((r) => `${r.job_name} ${r.scheduled_for?.toISOString()}`);
    expect(keys.sort()).toEqual([...expected].sort());
    expect(rows.filter((r) => r.status !== 'success' && r.status !== 'error' && r.trigger === 'schedule')).toEqual([]);
  });

  it('both replicas fired every slot, and exactly one of them ran it (the other found it claimed)', () => {
    const problems = expected.flatMap((key) => {
      const attempts = firedBy(key);
      const ran = attempts.filter((f) => f.outcome === 'success' || f.outcome === 'error');
      const processes = new Set(attempts.map((f) => f.process));
      return ran.length === 1 && processes.size === 2 && attempts.length === 2
        ? []
        : [`${key}: ${attempts.map((f) => `replica ${f.process} ${f.outcome}`).join(', ') || 'never fired'}`];
    });
    expect(problems).toEqual([]);
  });

  it('no claim was left behind anywhere on the timeline, in or out of the hour', async () => {
    const stuck = await database.db
      .selectFrom('cron_job_logs')
      .select(['job_name', 'scheduled_for', 'message'])
      .where('message', '=', 'claimed; waiting for the lease')
      .execute();
    expect(stuck).toEqual([]);
  });
});
