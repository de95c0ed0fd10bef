import { sql } from 'kysely';
import type { Db } from '../db/connection.ts';
import { decodeCursor, InvalidCursorError, type Page, pageOf } from '../pagination.ts';
import { isUuid } from './sql.ts';
import { type Actor, seesAllTasks } from './tasks.ts';

export type RatingView = {
  operatorId: string;
  operatorName: string;
  period: string;
  /** 0-100 with 2 decimals, as an exact decimal string. */
  score: string;
  tasksDone: number;
  tasksOnTime: number;
  tasksOverdue: number;
  tasksMissed: number;
  computedAt: string;
};

/** A day's ratings, best first (keyset on score desc, operator). Operators see only their own. */
export async function listRatings(
  db: Db,
  actor: Actor,
  filter: { period: string; limit: number; cursor?: string },
): Promise<Page<RatingView>> {
  let query = db
    .selectFrom('operator_ratings as r')
    .innerJoin('users as u', 'u.id', 'r.operator_id')
    .select([
      'r.operator_id',
      'u.name',
      sql<string>`r.period::text`.as('period'),
      'r.score',
      'r.tasks_done',
      'r.tasks_on_time',
      'r.tasks_overdue',
      'r.tasks_missed',
      'r.computed_at',
    ])
    .where('r.period', '=', filter.period)
    .orderBy('r.score', 'desc')
    .orderBy('r.operator_id')
    .limit(filter.limit + 1);
  if (!seesAllTasks(actor)) query = query.where('r.operator_id', '=', actor.userId);
  if (filter.cursor) {
    const [score, operatorId] = decodeCursor(filter.cursor, ['string', 'string'] as const);
    if (!/^\d{1,3}\.\d{2}$/.test(score) || !isUuid(operatorId)) {
      throw new InvalidCursorError('cursor is not one this API issued');
    }
    query = query.where((eb) =>
      eb.or([eb('r.score', '<', score), eb.and([eb('r.score', '=', score), eb('r.operator_id', '>', operatorId)])]),
    );
  }
  return pageOf(
    await query.execute(),
    filter.limit,
    (r) => ({
      operatorId: r.operator_id,
      operatorName: r.name,
      period: r.period,
      score: r.score,
      tasksDone: r.tasks_done,
      tasksOnTime: r.tasks_on_time,
      tasksOverdue: r.tasks_overdue,
      tasksMissed: r.tasks_missed,
      computedAt: r.computed_at.toISOString(),
    }),
    (r) => [r.score, r.operator_id],
  );
}
