import { sql } from 'kysely';
import type { Db } from '../db/connection.ts';
import type { JobDefinition } from '../jobs/types.ts';
import { formatTask } from '../telegram/bot.ts';
import { type TelegramClient, telegramFromConfig } from '../telegram/client.ts';
import { OPEN_STATUSES } from './tasks.ts';

const BATCH = 5000;
const DAY_MS = 86_400_000;

/** Open tasks past their due time become overdue. Returns how many. */
export async function markOverdueTasks(db: Db): Promise<number> {
  const result = await db
    .updateTable('tasks')
    .set({ status: 'overdue', updated_at: sql`now()` })
    .where('status', 'in', ['pending', 'assigned'])
    .where('due_at', '<', sql<Date>`now()`)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export type NotifyOutcome = { notified: number; operators: number; failed: number; lastError: string | null };

/**
 * Tells each operator with a linked chat about their overdue tasks they were not told about
 * yet, one message per operator. Each task is claimed (overdue_notified_at) before sending and
 * unclaimed if the send fails, so an operator hears about a task once and a failed send is
 * retried by the next run.
 */
export async function notifyOverdueOperators(
  db: Db,
  telegram: TelegramClient,
  signal?: AbortSignal,
): Promise<NotifyOutcome> {
  const outcome: NotifyOutcome = { notified: 0, operators: 0, failed: 0, lastError: null };
  const chats = await db
    .selectFrom('tasks as t')
    .innerJoin('telegram_links as tl', 'tl.user_id', 't.assigned_to')
    .select(['t.assigned_to as user_id', 'tl.chat_id'])
    .distinct()
    .where('t.status', '=', 'overdue')
    .where('t.overdue_notified_at', 'is', null)
    .where('t.assigned_to', 'is not', null)
    .where('tl.chat_id', 'is not', null)
    .execute();
  for (const chat of chats) {
    signal?.throwIfAborted();
    const claimed = await db
      .updateTable('tasks')
      .set({ overdue_notified_at: sql`now()` })
      .where('status', '=', 'overdue')
      .where('overdue_notified_at', 'is', null)
      .where('assigned_to', '=', chat.user_id as string)
      .returning('id')
      .execute();
    if (claimed.length === 0) continue;
    const ids = claimed.map((t) => t.id);
    const tasks = await db
      .selectFrom('tasks as t')
      .innerJoin('machines as m', 'm.id', 't.machine_id')
      .select(['t.number', 't.type', 't.status', 't.due_at', 'm.code', 'm.name'])
      .where('t.id', 'in', ids)
      .orderBy('t.due_at')
      .execute();
    const lines = tasks.map((t) =>
      formatTask({
        number: Number(t.number),
        type: t.type,
        status: t.status,
        dueAt: t.due_at.toISOString(),
        machine: { code: t.code, name: t.name },
      }),
    );
    try {
      await telegram.sendMessage(
        Number(chat.chat_id),
        `Overdue ${tasks.length === 1 ? 'task' : 'tasks'}:\n${lines.join('\n')}\nSend /done N when finished.`,
        { link_preview_options: { is_disabled: true } },
        signal,
      );
      outcome.notified += ids.length;
      outcome.operators++;
    } catch (error) {
      await db.updateTable('tasks').set({ overdue_notified_at: null }).where('id', 'in', ids).execute();
      outcome.failed += ids.length;
      outcome.lastError = error instanceof Error ? error.message : String(error);
    }
  }
  return outcome;
}

export const overdueTasks: JobDefinition = {
  name: 'overdue_tasks',
  schedule: '*/5 * * * *',
  timeoutMs: 2 * 60_000,
  description: 'Marks open tasks past due_at as overdue and tells each operator (Telegram, once per task) about theirs',
  async handler({ db, config, logger, signal }) {
    logger.info('Checking for overdue tasks...');
    const marked = await markOverdueTasks(db);
    const telegram = telegramFromConfig(config.telegram);
    if (!telegram) {
      return {
        recordsProcessed: marked,
        message: `marked ${marked} tasks overdue; notifications off (TELEGRAM_BOT_TOKEN is unset)`,
      };
    }
    const sent = await notifyOverdueOperators(db, telegram, signal);
    const summary = `marked ${marked} tasks overdue; notified ${sent.operators} operators about ${sent.notified} tasks`;
    logger.info('overdue tasks checked', { marked, ...sent });
    if (sent.failed > 0) {
      // Recorded as a failed run; the unsent tasks are retried by the next one.
      throw new Error(`${summary}; ${sent.failed} notifications failed (retried next run): ${sent.lastError}`);
    }
    return { recordsProcessed: marked + sent.notified, message: summary };
  },
};

/** Active reservations past expires_at become expired (their stock is free again), in batches. */
export async function expireReservations(db: Db, signal?: AbortSignal): Promise<number> {
  let total = 0;
  for (;;) {
    signal?.throwIfAborted();
    const result = await sql`update inventory_reservations set status = 'expired', released_at = now()
      where id in (
        select id from inventory_reservations where status = 'active' and expires_at <= now()
        order by expires_at limit ${BATCH}
      )`.execute(db);
    const changed = Number(result.numAffectedRows ?? 0);
    total += changed;
    if (changed < BATCH) return total;
  }
}

export const expiredReservations: JobDefinition = {
  name: 'expired_reservations',
  schedule: '*/15 * * * *',
  timeoutMs: 5 * 60_000,
  description: 'Releases inventory reservations past expires_at (status expired)',
  async handler({ db, logger, signal }) {
    logger.info('Checking for expired inventory reservations...');
    const expired = await expireReservations(db, signal);
    return { recordsProcessed: expired, message: `expired ${expired} reservations` };
  },
};

/** 'YYYY-MM-DD' of the UTC day before `now`. */
export function previousDay(now = new Date()): string {
  return new Date(now.getTime() - DAY_MS).toISOString().slice(0, 10);
}

/**
 * Scores every operator with activity on `day` (UTC), upserting one operator_ratings row each
 * (a rerun replaces the day's rows). See the README for the formula:
 *   on_time = completed that day by their due time; late = completed that day after it;
 *   missed  = due that day and still open now;
 *   score   = 100 * (on_time + 0.5 * late) / (on_time + late + missed), 2 decimals;
 *   tasks_done = on_time + late; tasks_overdue = late + missed.
 * Returns how many operators were rated.
 */
export async function computeOperatorRatings(db: Db, day: string): Promise<number> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error(`expected a day as YYYY-MM-DD, got ${day}`);
  const from = new Date(`${day}T00:00:00.000Z`);
  const to = new Date(from.getTime() + DAY_MS);
  const result = await sql`
    insert into operator_ratings
      (operator_id, period, score, tasks_done, tasks_on_time, tasks_overdue, tasks_missed, computed_at)
    select u.id, ${day}::date,
      round(100.0 * (s.on_time + 0.5 * s.late) / (s.on_time + s.late + s.missed), 2),
      s.on_time + s.late, s.on_time, s.late + s.missed, s.missed, now()
    from users u
    cross join lateral (
      select
        count(*) filter (where t.completed_at >= ${from} and t.completed_at < ${to} and t.completed_at <= t.due_at)::int as on_time,
        count(*) filter (where t.completed_at >= ${from} and t.completed_at < ${to} and t.completed_at > t.due_at)::int as late,
        count(*) filter (where t.due_at >= ${from} and t.due_at < ${to} and t.status in (${sql.join(OPEN_STATUSES)}))::int as missed
      from tasks t
      where t.assigned_to = u.id
        and ((t.completed_at >= ${from} and t.completed_at < ${to}) or (t.due_at >= ${from} and t.due_at < ${to}))
    ) s
    where u.role = 'operator' and s.on_time + s.late + s.missed > 0
    on conflict (operator_id, period) do update set
      score = excluded.score, tasks_done = excluded.tasks_done, tasks_on_time = excluded.tasks_on_time,
      tasks_overdue = excluded.tasks_overdue, tasks_missed = excluded.tasks_missed, computed_at = now()`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

export const operatorRatings: JobDefinition = {
  name: 'operator_ratings',
  schedule: '15 0 * * *',
  timeoutMs: 10 * 60_000,
  description: "Scores each operator's previous day (UTC) into operator_ratings (formula in the README)",
  async handler({ db, logger }) {
    logger.info('Calculating operator ratings...');
    const day = previousDay();
    const rated = await computeOperatorRatings(db, day);
    return { recordsProcessed: rated, message: `rated ${rated} operators for ${day}` };
  },
};
