import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../lib/config.ts';
import { JOBS } from '../lib/jobs/registry.ts';
import { type RunnerDeps, runJob } from '../lib/jobs/runner.ts';
import { createLogger } from '../lib/logger.ts';
import {
  computeOperatorRatings,
  expiredReservations,
  operatorRatings,
  overdueTasks,
  previousDay,
} from '../lib/vending/jobs.ts';
import { TEST_ENV } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { type FakeTelegram, startFakeTelegram } from './support/fake-telegram.ts';
import { seedMachine, seedProduct, seedReservation, seedTask, seedUsers } from './support/vending.ts';

const HOUR = 3_600_000;

describe.each(databaseKinds())('vending jobs (%s)', (kind) => {
  let database: TestDatabase;
  let telegram: FakeTelegram;
  let logLines: string[];
  let deps: (env?: Record<string, string>) => RunnerDeps;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    telegram = await startFakeTelegram();
    deps = (env = {}) => ({
      db: database.db,
      config: parseConfig({
        ...TEST_ENV,
        DATABASE_URL: database.url,
        TELEGRAM_BOT_TOKEN: telegram.token,
        TELEGRAM_API_BASE: telegram.apiBase,
        ...env,
      }),
      storage: null,
      logger: createLogger('info', {}, (_level, line) => logLines.push(JSON.parse(line).msg)),
      runtime: 'node',
      holder: 'test',
    });
  });
  afterEach(() => {
    logLines = [];
  });
  afterAll(async () => {
    await telegram?.close();
    await database?.drop();
  });
  logLines = [];

  const taskRow = (id: string) =>
    database.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const linkChat = (userId: string, chatId: number) =>
    database.db
      .insertInto('telegram_links')
      .values({ user_id: userId, chat_id: chatId, linked_at: new Date() })
      .execute();

  it('are registered, each on a schedule', () => {
    const names = JOBS.map((j) => j.name);
    expect(names).toEqual(expect.arrayContaining(['overdue_tasks', 'expired_reservations', 'operator_ratings']));
  });

  describe('overdue_tasks', () => {
    it("marks open tasks past due as overdue and nothing else, logging the guide's line", async () => {
      const [op] = await seedUsers(database.db, ['operator'] as const);
      const machine = await seedMachine(database.db);
      const past = new Date(Date.now() - HOUR);
      const pending = await seedTask(database.db, { machineId: machine.id, dueAt: past });
      const assigned = await seedTask(database.db, { machineId: machine.id, assignedTo: op.id, dueAt: past });
      const future = await seedTask(database.db, { machineId: machine.id, assignedTo: op.id });
      const done = await seedTask(database.db, {
        machineId: machine.id,
        status: 'completed',
        dueAt: past,
        completedAt: past,
      });
      const cancelled = await seedTask(database.db, { machineId: machine.id, status: 'cancelled', dueAt: past });

      const result = await runJob(deps({ TELEGRAM_BOT_TOKEN: '' }), overdueTasks, { kind: 'manual' });
      expect(result.outcome).toBe('success');
      expect(result.run?.recordsProcessed).toBeGreaterThanOrEqual(2);
      expect(result.run?.message).toContain('notifications off (TELEGRAM_BOT_TOKEN is unset)');
      expect(logLines).toContain('Checking for overdue tasks...');
      expect((await taskRow(pending.id)).status).toBe('overdue');
      expect((await taskRow(assigned.id)).status).toBe('overdue');
      expect((await taskRow(future.id)).status).toBe('assigned');
      expect((await taskRow(done.id)).status).toBe('completed');
      expect((await taskRow(cancelled.id)).status).toBe('cancelled');
      const log = await database.db
        .selectFrom('cron_job_logs')
        .select(['status', 'records_processed'])
        .where('id', '=', result.run?.id as number)
        .executeTakeFirstOrThrow();
      expect(log).toEqual({ status: 'success', records_processed: result.run?.recordsProcessed });
    });

    it('tells each linked operator about their overdue tasks once, in one message', async () => {
      const [a, b] = await seedUsers(database.db, ['operator', 'operator'] as const);
      await linkChat(a.id, 7001);
      const machine = await seedMachine(database.db);
      const past = new Date(Date.now() - HOUR);
      const first = await seedTask(database.db, { machineId: machine.id, assignedTo: a.id, dueAt: past });
      const second = await seedTask(database.db, { machineId: machine.id, assignedTo: a.id, dueAt: past });
      const unlinked = await seedTask(database.db, { machineId: machine.id, assignedTo: b.id, dueAt: past });

      const run = await runJob(deps(), overdueTasks, { kind: 'manual' });
      expect(run.outcome).toBe('success');
      const toA = telegram.sent().filter((m) => m.chatId === 7001);
      expect(toA).toHaveLength(1);
      expect(toA[0]?.text).toContain(`#${first.number} refill - ${machine.code}`);
      expect(toA[0]?.text).toContain(`#${second.number} `);
      expect((await taskRow(first.id)).overdue_notified_at).toBeInstanceOf(Date);
      // No chat for b: nothing sent, nothing claimed (b hears about it once linked).
      expect((await taskRow(unlinked.id)).overdue_notified_at).toBeNull();

      await runJob(deps(), overdueTasks, { kind: 'manual' });
      expect(telegram.sent().filter((m) => m.chatId === 7001)).toHaveLength(1);

      const third = await seedTask(database.db, { machineId: machine.id, assignedTo: a.id, dueAt: past });
      await runJob(deps(), overdueTasks, { kind: 'manual' });
      const again = telegram.sent().filter((m) => m.chatId === 7001);
      expect(again).toHaveLength(2);
      expect(again[1]?.text).toContain(`#${third.number} `);
      expect(again[1]?.text).not.toContain(`#${first.number} `);
    });

    it('a failed send is recorded as a failed run and retried by the next run', async () => {
      const [a] = await seedUsers(database.db, ['operator'] as const);
      await linkChat(a.id, 7002);
      const machine = await seedMachine(database.db);
      const task = await seedTask(database.db, {
        machineId: machine.id,
        assignedTo: a.id,
        dueAt: new Date(Date.now() - HOUR),
      });
      telegram.failNext('sendMessage', { status: 403, description: 'Forbidden: bot was blocked by the user' });

      const failed = await runJob(deps(), overdueTasks, { kind: 'manual' });
      expect(failed.outcome).toBe('error');
      expect(failed.run?.error).toMatch(/1 notifications failed .*bot was blocked by the user/);
      expect(failed.run?.error).not.toContain(telegram.token);
      expect((await taskRow(task.id)).status).toBe('overdue');
      expect((await taskRow(task.id)).overdue_notified_at).toBeNull();

      const retried = await runJob(deps(), overdueTasks, { kind: 'manual' });
      expect(retried.outcome).toBe('success');
      expect(
        telegram
          .sent()
          .filter((m) => m.chatId === 7002)
          .map((m) => m.text),
      ).toHaveLength(1);
      expect((await taskRow(task.id)).overdue_notified_at).toBeInstanceOf(Date);
    });

    it('waits out a 429 with retry_after and then delivers', async () => {
      const [a] = await seedUsers(database.db, ['operator'] as const);
      await linkChat(a.id, 7003);
      const machine = await seedMachine(database.db);
      await seedTask(database.db, { machineId: machine.id, assignedTo: a.id, dueAt: new Date(Date.now() - HOUR) });
      telegram.failNext('sendMessage', { status: 429, description: 'Too Many Requests', retryAfter: 1 });
      const before = telegram.calls.length;
      const run = await runJob(deps(), overdueTasks, { kind: 'manual' });
      expect(run.outcome).toBe('success');
      const attempts = telegram.calls.slice(before).filter((c) => Number(c.params.chat_id) === 7003);
      expect(attempts).toHaveLength(2);
      expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    });
  });

  describe('expired_reservations', () => {
    it('expires active reservations past expires_at only, and counts them', async () => {
      const machine = await seedMachine(database.db);
      const task = await seedTask(database.db, { machineId: machine.id });
      const product = await seedProduct(database.db);
      const past = new Date(Date.now() - HOUR);
      const stale = await seedReservation(database.db, { taskId: task.id, productId: product.id, expiresAt: past });
      const stale2 = await seedReservation(database.db, { taskId: task.id, productId: product.id, expiresAt: past });
      const fresh = await seedReservation(database.db, { taskId: task.id, productId: product.id });
      const released = await seedReservation(database.db, {
        taskId: task.id,
        productId: product.id,
        expiresAt: past,
        status: 'released',
      });

      const run = await runJob(deps(), expiredReservations, { kind: 'manual' });
      expect(run.outcome).toBe('success');
      expect(run.run?.recordsProcessed).toBe(2);
      expect(logLines).toContain('Checking for expired inventory reservations...');
      const rows = await database.db
        .selectFrom('inventory_reservations')
        .select(['id', 'status', 'released_at'])
        .where('task_id', '=', task.id)
        .execute();
      const byId = new Map(rows.map((r) => [r.id, r]));
      expect(byId.get(stale.id)?.status).toBe('expired');
      expect(byId.get(stale2.id)?.released_at).toBeInstanceOf(Date);
      expect(byId.get(fresh.id)?.status).toBe('active');
      expect(byId.get(released.id)?.status).toBe('released');
      expect((await runJob(deps(), expiredReservations, { kind: 'manual' })).run?.recordsProcessed).toBe(0);
    });
  });

  describe('operator_ratings', () => {
    it('scores a day with the README formula: on time 1, late 0.5, missed 0', async () => {
      const [a, idle, b] = await seedUsers(database.db, ['operator', 'operator', 'operator'] as const);
      const machine = await seedMachine(database.db);
      const day = '2026-05-04';
      const at = (h: number, d = day) => new Date(`${d}T${String(h).padStart(2, '0')}:00:00Z`);
      const task = (assignedTo: string, dueAt: Date, completedAt: Date | null) =>
        seedTask(database.db, {
          machineId: machine.id,
          assignedTo,
          dueAt,
          completedAt,
          status: completedAt ? 'completed' : 'overdue',
        });
      await task(a.id, at(12), at(9)); // on time
      await task(a.id, at(18), at(18)); // on time (at the due minute)
      await task(a.id, at(8), at(11)); // late
      await task(a.id, at(15), null); // missed
      await task(a.id, at(10, '2026-05-03'), at(10, '2026-05-03')); // another day: ignored
      await task(b.id, at(9, '2026-05-03'), at(7)); // due yesterday, done late today: late
      await task(idle.id, at(9, '2026-05-06'), null); // due later: not this day

      expect(await computeOperatorRatings(database.db, day)).toBe(2);
      const rows = await database.db
        .selectFrom('operator_ratings')
        .selectAll()
        .where('period', '=', day)
        .orderBy('score', 'desc')
        .execute();
      expect(
        rows.map((r) => [r.operator_id, r.score, r.tasks_done, r.tasks_on_time, r.tasks_overdue, r.tasks_missed]),
      ).toEqual([
        [a.id, '62.50', 3, 2, 2, 1], // 100 * (2 + 0.5) / 4
        [b.id, '50.00', 1, 0, 1, 0],
      ]);

      // A rerun replaces the day's rows rather than adding to them.
      await computeOperatorRatings(database.db, day);
      const again = await database.db.selectFrom('operator_ratings').selectAll().where('period', '=', day).execute();
      expect(again).toHaveLength(2);
      expect(again.find((r) => r.operator_id === a.id)?.computed_at.getTime()).toBeGreaterThanOrEqual(
        rows[0]?.computed_at.getTime() ?? 0,
      );
    });

    it('the job rates the previous UTC day and records how many operators it rated', async () => {
      const [a] = await seedUsers(database.db, ['operator'] as const);
      const machine = await seedMachine(database.db);
      const yesterday = previousDay();
      const noon = new Date(`${yesterday}T12:00:00Z`);
      await seedTask(database.db, {
        machineId: machine.id,
        assignedTo: a.id,
        status: 'completed',
        dueAt: noon,
        completedAt: noon,
      });
      const run = await runJob(deps(), operatorRatings, { kind: 'manual' });
      expect(run.outcome).toBe('success');
      expect(run.run?.message).toContain(`for ${yesterday}`);
      expect(run.run?.recordsProcessed).toBeGreaterThanOrEqual(1);
      expect(logLines).toContain('Calculating operator ratings...');
      const row = await database.db
        .selectFrom('operator_ratings')
        .selectAll()
        .where('operator_id', '=', a.id)
        .executeTakeFirstOrThrow();
      expect(row.score).toBe('100.00');
    });
  });
});
