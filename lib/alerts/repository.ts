import { sql } from 'kysely';
import type { AlertIncident } from '../../schema/database.ts';
import type { Db } from '../db/connection.ts';
import type { AlertCondition } from './rules.ts';

export async function openIncidents(db: Db): Promise<AlertIncident[]> {
  return db.selectFrom('alert_incidents').selectAll().where('resolved_at', 'is', null).orderBy('opened_at').execute();
}

/** Resolved incidents whose opening was announced but whose recovery message has not gone out yet. */
export async function unannouncedRecoveries(db: Db): Promise<AlertIncident[]> {
  return db
    .selectFrom('alert_incidents')
    .selectAll()
    .where('resolved_at', 'is not', null)
    .where('resolve_notified_at', 'is', null)
    .where('open_notified_at', 'is not', null)
    .where('resolved_at', '>', sql<Date>`now() - interval '1 day'`)
    .orderBy('resolved_at')
    .limit(50)
    .execute();
}

/** Opens an incident; null when one with this key is already open (another replica got there first). */
export async function insertIncident(db: Db, condition: AlertCondition): Promise<AlertIncident | null> {
  const row = await db
    .insertInto('alert_incidents')
    .values({
      key: condition.key,
      rule: condition.rule,
      summary: condition.summary,
      details: JSON.stringify(condition.details),
    })
    .onConflict((oc) => oc.column('key').where('resolved_at', 'is', null).doNothing())
    .returningAll()
    .executeTakeFirst();
  return row ?? null;
}

/** Resolves an open incident; null when it was already resolved. */
export async function resolveIncident(db: Db, id: number): Promise<AlertIncident | null> {
  const row = await db
    .updateTable('alert_incidents')
    .set({ resolved_at: sql`now()` })
    .where('id', '=', id)
    .where('resolved_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  return row ?? null;
}

export async function markAnnounced(db: Db, id: number, what: 'open' | 'resolve'): Promise<void> {
  await db
    .updateTable('alert_incidents')
    .set(
      what === 'open'
        ? { open_notified_at: sql`now()`, notify_error: null }
        : { resolve_notified_at: sql`now()`, notify_error: null },
    )
    .where('id', '=', id)
    .execute();
}

export async function recordNotifyError(db: Db, id: number, error: string): Promise<void> {
  await db
    .updateTable('alert_incidents')
    .set({ notify_error: error.slice(0, 2000) })
    .where('id', '=', id)
    .execute();
}

/** Newest first, for the CLI and the metrics. */
export async function recentIncidents(db: Db, limit: number): Promise<AlertIncident[]> {
  return db
    .selectFrom('alert_incidents')
    .selectAll()
    .orderBy('opened_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

export async function alertIncidentCount(db: Db): Promise<number> {
  const row = await db
    .selectFrom('alert_incidents')
    .select((eb) => eb.fn.countAll<number>().as('open'))
    .where('resolved_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.open);
}

/** When the schema was first migrated (the oldest applied migration): "installed at". */
export async function installedAt(db: Db): Promise<Date | null> {
  const { rows } = await sql<{
    installed: string | null;
  }>`select min("timestamp") as installed from opsbase_migrations`.execute(db);
  const installed = rows[0]?.installed;
  return installed ? new Date(installed) : null;
}
