import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../lib/config.ts';
import { logCleanup } from '../lib/jobs/log-cleanup.ts';
import { JOBS, scheduleSet } from '../lib/jobs/registry.ts';
import { type RunnerDeps, runJob } from '../lib/jobs/runner.ts';
import { startScheduler } from '../lib/jobs/scheduler.ts';
import type { JobDefinition } from '../lib/jobs/types.ts';
import { createLogger } from '../lib/logger.ts';
import { appFor, TEST_ENV } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { ROOT } from './support/paths.ts';
import { waitFor } from './support/processes.ts';

const job = (overrides: Partial<JobDefinition>): JobDefinition => ({
  name: 'test_job',
  schedule: '*/5 * * * *',
  timeoutMs: 5_000,
  description: 'a job for tests',
  handler: async () => ({ recordsProcessed: 3, message: 'ok' }),
  ...overrides,
});

describe.each(databaseKinds())('job runner on %s', (kind) => {
  let database: TestDatabase;
  let deps: RunnerDeps;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
    deps = {
      db: database.db,
      config: parseConfig({ ...TEST_ENV, DATABASE_URL: database.url }),
      storage: null,
      logger: createLogger('error'),
      runtime: 'node',
      holder: 'test-holder',
    };
  });
  afterAll(async () => {
    await database?.drop();
  });

  const rowsOf = (name: string) =>
    database.db.selectFrom('cron_job_logs').selectAll().where('job_name', '=', name).orderBy('id').execute();
  const lockOf = (name: string) =>
    database.db.selectFrom('job_locks').selectAll().where('job_name', '=', name).executeTakeFirst();

  it('records a success with duration, records processed, trigger and runtime, and releases the lease', async () => {
    const result = await runJob(deps, job({ name: 'ok_job' }), { kind: 'manual' });
    expect(result.outcome).toBe('success');
    expect(result.run).toMatchObject({
      status: 'success',
      recordsProcessed: 3,
      message: 'ok',
      trigger: 'manual',
      runtime: 'node',
    });
    const [row] = await rowsOf('ok_job');
    expect(row?.status).toBe('success');
    expect(row?.duration_ms).toBeGreaterThanOrEqual(0);
    expect(row?.finished_at).toBeInstanceOf(Date);
    expect(await lockOf('ok_job')).toBeUndefined();
  });

  it('records an error with its message and releases the lease', async () => {
    const failing = job({
      name: 'failing_job',
      handler: async () => {
        throw new Error('source answered 502');
      },
    });
    const result = await runJob(deps, failing, { kind: 'http' });
    expect(result.outcome).toBe('error');
    expect(result.run).toMatchObject({ status: 'error', error: 'source answered 502', trigger: 'http' });
    expect(await lockOf('failing_job')).toBeUndefined();
  });

  it('stops a run at its timeout: the row says timed out and the lease is released', async () => {
    let aborted = false;
    const slow = job({
      name: 'slow_job',
      timeoutMs: 200,
      handler: ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(signal.reason);
          }),
        ),
    });
    const result = await runJob(deps, slow, { kind: 'manual' });
    expect(result.run).toMatchObject({ status: 'error', error: 'timed out after 200 ms' });
    expect(aborted).toBe(true);
    expect(await lockOf('slow_job')).toBeUndefined();
  });

  it('records skipped when another holder has the lease', async () => {
    await database.db
      .insertInto('job_locks')
      .values({ job_name: 'busy_job', holder: 'other-host:1:abc', locked_until: sql`now() + interval '1 minute'` })
      .execute();
    let ran = false;
    const result = await runJob(
      deps,
      job({
        name: 'busy_job',
        handler: async () => {
          ran = true;
          return { recordsProcessed: 0, message: '' };
        },
      }),
      {
        kind: 'manual',
      },
    );
    expect(result.outcome).toBe('skipped');
    expect(ran).toBe(false);
    expect(result.run?.message).toContain('other-host:1:abc');
    expect((await lockOf('busy_job'))?.holder).toBe('other-host:1:abc'); // not stolen
  });

  it('takes over an expired lease', async () => {
    await database.db
      .insertInto('job_locks')
      .values({ job_name: 'stale_job', holder: 'dead-host:9:zzz', locked_until: sql`now() - interval '1 second'` })
      .execute();
    expect((await runJob(deps, job({ name: 'stale_job' }), { kind: 'manual' })).outcome).toBe('success');
  });

  it('keeps a short lease renewed while a run outlasts it, and releases it at the end', async () => {
    // A 3 s lease (renewed every second) on a run that takes longer than two leases.
    const shortLease = { ...deps, config: parseConfig({ ...TEST_ENV, JOB_LEASE_SECONDS: '3' }) };
    const expiries: number[] = [];
    const long = job({
      name: 'long_job',
      timeoutMs: 60_000,
      handler: async () => {
        await waitFor(
          async () => {
            const lock = await lockOf('long_job');
            if (lock) expiries.push(lock.locked_until.getTime());
            return new Set(expiries).size >= 4;
          },
          30_000,
          'four renewals of the lease',
        );
        // Nobody else gets the job while it runs: the lease never lapsed.
        const other = await runJob({ ...shortLease, holder: 'other-holder' }, job({ name: 'long_job' }), {
          kind: 'manual',
        });
        return { recordsProcessed: 0, message: other.outcome };
      },
    });
    const result = await runJob(shortLease, long, { kind: 'manual' });
    expect(result.outcome).toBe('success');
    expect(result.run?.message).toBe('skipped');
    expect(Math.max(...expiries) - Math.min(...expiries)).toBeGreaterThan(3_000);
    expect(await lockOf('long_job')).toBeUndefined();
  });

  it('a run whose lease lapsed and was taken over stops, logs it, and is recorded as error', async () => {
    const logged: string[] = [];
    const shortLease = {
      ...deps,
      config: parseConfig({ ...TEST_ENV, JOB_LEASE_SECONDS: '3' }),
      logger: createLogger('warn', {}, (_level, line) => logged.push(line)),
    };
    let aborted = false;
    const stolen = job({
      name: 'stolen_job',
      timeoutMs: 60_000,
      handler: async ({ signal }) => {
        // As if renewals failed past the lease and another holder took the job over.
        await database.db
          .updateTable('job_locks')
          .set({ holder: 'usurper', locked_until: sql`now() + interval '1 minute'` })
          .where('job_name', '=', 'stolen_job')
          .execute();
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        aborted = true;
        return { recordsProcessed: 0, message: 'should not be recorded' };
      },
    });
    const result = await runJob(shortLease, stolen, { kind: 'manual' });
    expect(aborted).toBe(true);
    expect(result.outcome).toBe('error');
    expect(result.run?.error).toMatch(/lost the stolen_job lease/);
    expect(logged.some((line) => line.includes('job lease lost'))).toBe(true);
    expect((await lockOf('stolen_job'))?.holder).toBe('usurper'); // the new holder's lease is left alone
  });

  it('runs a scheduled slot once: the same scheduled time delivered again does nothing', async () => {
    let runs = 0;
    const counted = job({
      name: 'slot_job',
      handler: async () => {
        runs += 1;
        return { recordsProcessed: 0, message: '' };
      },
    });
    const scheduledFor = new Date('2026-11-23T10:05:00Z');
    expect((await runJob(deps, counted, { kind: 'schedule', scheduledFor })).outcome).toBe('success');
    expect((await runJob(deps, counted, { kind: 'schedule', scheduledFor })).outcome).toBe('duplicate');
    expect(runs).toBe(1);
    expect(await rowsOf('slot_job')).toHaveLength(1);
  });

  it('closes the run of a SIGKILLed process as "interrupted" once its lease has expired', async () => {
    const child = fork(join(ROOT, 'test/fixtures/job-child.ts'), ['killed-holder', 'slow', '-'], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, DATABASE_URL: database.url },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve) => child.on('message', (m: { started?: boolean }) => m.started && resolve()));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const [left] = await rowsOf('child_job');
    expect(left?.status).toBe('running');
    // While the lease is live nothing may touch the row; then time passes and it expires.
    expect((await runJob(deps, job({ name: 'child_job' }), { kind: 'manual' })).outcome).toBe('skipped');
    await database.db
      .updateTable('job_locks')
      .set({ locked_until: sql`now() - interval '1 second'` })
      .where('job_name', '=', 'child_job')
      .execute();
    expect((await runJob(deps, job({ name: 'child_job' }), { kind: 'manual' })).outcome).toBe('success');
    const closed = (await rowsOf('child_job')).find((r) => r.id === left?.id);
    expect(closed?.status).toBe('error');
    expect(closed?.error).toMatch(/^interrupted/);
  });

  it('two processes firing the same schedule give exactly one success', async () => {
    const slot = '2026-11-23T11:00:00.000Z';
    const outcomes = await Promise.all(
      ['replica-a', 'replica-b'].map(
        (holder) =>
          new Promise<string>((resolve, reject) => {
            const child = fork(join(ROOT, 'test/fixtures/job-child.ts'), [holder, 'quick', slot], {
              execArgv: ['--import', 'tsx'],
              env: { ...process.env, DATABASE_URL: database.url },
              stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
            });
            child.on('message', (m: { outcome?: string }) => m.outcome && resolve(m.outcome));
            child.once('exit', (code) => code !== 0 && reject(new Error(`child exited ${code}`)));
          }),
      ),
    );
    expect(outcomes.filter((o) => o === 'success')).toHaveLength(1);
    const slotRows = await database.db
      .selectFrom('cron_job_logs')
      .selectAll()
      .where('job_name', '=', 'child_job')
      .where('scheduled_for', '=', new Date(slot))
      .execute();
    expect(slotRows.map((r) => r.status)).toEqual(['success']);
  });

  it('two replicas firing the same slots at the same moment: every slot runs once, none lost to a skip', async () => {
    const racing = job({ name: 'racing_job' });
    const replicas = ['replica-a', 'replica-b'].map((holder) => ({ ...deps, holder }));
    const slots = Array.from({ length: 20 }, (_, i) => new Date(Date.UTC(2026, 0, 1, 0, i * 5)));
    const outcomes: string[] = [];
    for (const scheduledFor of slots) {
      const pair = await Promise.all(replicas.map((r) => runJob(r, racing, { kind: 'schedule', scheduledFor })));
      outcomes.push(
        pair
          .map((p) => p.outcome)
          .sort()
          .join('+'),
      );
    }
    // One replica ran the slot; the other found it claimed. A "skipped" slot never ran at all.
    expect(outcomes.filter((o) => o !== 'duplicate+success')).toEqual([]);
    const rows = await rowsOf('racing_job');
    expect(rows.map((r) => r.status)).toEqual(slots.map(() => 'success'));
  });

  it('log_cleanup deletes exactly the runs past retention, and a second run deletes nothing', async () => {
    await database.db.deleteFrom('cron_job_logs').execute();
    const insert = (daysAgo: number) =>
      database.db
        .insertInto('cron_job_logs')
        .values({
          job_name: 'history',
          status: 'success',
          trigger: 'schedule',
          started_at: sql`now() - make_interval(days => ${daysAgo})`,
          runtime: 'node',
          holder: 'h',
        })
        .execute();
    for (const daysAgo of [45, 31, 29, 1]) await insert(daysAgo);
    const first = await runJob(deps, logCleanup, { kind: 'manual' });
    expect(first.outcome).toBe('success');
    const left = await database.db
      .selectFrom('cron_job_logs')
      .select('job_name')
      .where('job_name', '=', 'history')
      .execute();
    expect(left).toHaveLength(2);
    expect(first.run?.message).toMatch(/^deleted 2 job runs/);
    const second = await runJob(deps, logCleanup, { kind: 'manual' });
    expect(second.run?.message).toMatch(/^deleted 0 job runs/);
  });
});

describe.each(databaseKinds())('POST /api/cron/:job on %s', (kind) => {
  let database: TestDatabase;
  let harness: ReturnType<typeof appFor>;
  const secret = 'cron-secret-for-tests-0123456789';
  beforeAll(async () => {
    database = await createTestDatabase(kind);
    harness = appFor({ DATABASE_URL: database.url, CRON_SECRET: secret });
  });
  afterAll(async () => {
    await harness?.close();
    await database?.drop();
  });
  const trigger = (path: string, headers: Record<string, string | undefined> = { authorization: `Bearer ${secret}` }) =>
    harness.app.request(path, { method: 'POST', headers: headers as Record<string, string> });

  it("runs the plan's /api/cron/cleanup and answers 200 with the run", async () => {
    const res = await trigger('/api/cron/cleanup');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ jobName: 'log_cleanup', status: 'success', trigger: 'http' });
  });

  it('answers 401 for a missing or wrong secret, with the envelope', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-secret-wrong-secret' }, { authorization: secret }]) {
      const res = await trigger('/api/cron/cleanup', headers);
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe('UNAUTHORIZED');
    }
  });

  it('answers 404 for an unknown job and 400 for a malformed name', async () => {
    const unknown = await trigger('/api/cron/no_such_job');
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe('NOT_FOUND');
    const malformed = await trigger('/api/cron/Bad%20Name!');
    expect(malformed.status).toBe(400);
    expect((await malformed.json()).error.code).toBe('VALIDATION_FAILED');
  });

  it('answers 409 when the lease is held', async () => {
    await database.db
      .insertInto('job_locks')
      .values({ job_name: 'log_cleanup', holder: 'elsewhere', locked_until: sql`now() + interval '1 minute'` })
      .execute();
    const res = await trigger('/api/cron/log_cleanup');
    expect(res.status).toBe(409);
    expect((await res.json()).error.details).toMatchObject({ status: 'skipped' });
    await database.db.deleteFrom('job_locks').execute();
  });

  it('is off (503) when CRON_SECRET is unset', async () => {
    const off = appFor({ DATABASE_URL: database.url });
    try {
      const res = await off.app.request('/api/cron/cleanup', {
        method: 'POST',
        headers: { authorization: 'Bearer x' },
      });
      expect(res.status).toBe(503);
      expect((await res.json()).error.message).toMatch(/CRON_SECRET/);
    } finally {
      await off.close();
    }
  });
});

describe('the job registry', () => {
  it("is what wrangler.toml's cron triggers say", () => {
    const toml = parseToml(readFileSync(join(ROOT, 'wrangler.toml'), 'utf8')) as { triggers?: { crons?: string[] } };
    expect([...(toml.triggers?.crons ?? [])].sort()).toEqual(scheduleSet().sort());
  });

  it('has unique names and aliases, valid schedules and positive timeouts', () => {
    const names = JOBS.flatMap((j) => [j.name, ...(j.aliases ?? [])]);
    expect(new Set(names).size).toBe(names.length);
    for (const j of JOBS) {
      expect(j.timeoutMs).toBeGreaterThan(0);
      expect(j.name).toMatch(/^[a-z][a-z0-9_]*$/);
    }
  });
});

describe('the in-process scheduler on two replicas', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('pglite');
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('both fire every tick, and each slot runs exactly once', async () => {
    const config = parseConfig({ ...TEST_ENV, DATABASE_URL: database.url });
    let runs = 0;
    // Fires every second (croner's six-field form); slots are minute-aligned, so across the
    // replicas and all their fires a minute holds one run.
    const ticking = job({
      name: 'ticking_job',
      schedule: '* * * * * *',
      handler: async () => {
        runs++;
        return { recordsProcessed: 0, message: '' };
      },
    });
    // Each fire logs its outcome; the test waits on those lines, not on the clock.
    const outcomes: string[] = [];
    const logger = createLogger('info', {}, (_level, line) => {
      const entry = JSON.parse(line) as { msg: string; outcome?: string };
      if (entry.msg === 'scheduled job finished' && entry.outcome) outcomes.push(entry.outcome);
    });
    const replicas = ['replica-1', 'replica-2'].map((holder) =>
      startScheduler(
        { db: database.db, config, storage: null, logger: createLogger('error'), runtime: 'node', holder },
        [ticking],
        logger,
      ),
    );
    try {
      await waitFor(
        async () => outcomes.length >= 4 && outcomes.includes('duplicate'),
        15_000,
        'four fires across the replicas',
      );
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
    }
    const all = await database.db
      .selectFrom('cron_job_logs')
      .select(['scheduled_for', 'status', 'trigger'])
      .where('job_name', '=', 'ticking_job')
      .execute();
    const slots = all.map((r) => r.scheduled_for?.toISOString());
    expect(new Set(slots).size).toBe(all.length); // one row per slot
    expect(all.every((r) => r.trigger === 'schedule')).toBe(true);
    expect(runs).toBe(all.filter((r) => r.status === 'success').length);
    // Fires that found their slot taken ran nothing and recorded nothing.
    expect(outcomes.filter((o) => o === 'success' || o === 'skipped').length).toBe(all.length);
  });
});
