import { sql } from 'kysely';
import type { Lead, Role } from '../../schema/database.ts';
import type { Db } from '../db/connection.ts';
import { NotFoundError } from '../errors.ts';
import {
  cursorTimestamp,
  decodeCursor,
  InvalidCursorError,
  olderThanCursor,
  type Page,
  pageOf,
} from '../pagination.ts';
import type { LeadRecord } from './lead-rows.ts';

/** Who is asking: agents see and change only the leads assigned to them. */
export type LeadViewer = { userId: string; role: Role };

const SEES_EVERY_LEAD: readonly Role[] = ['md', 'admin', 'manager'];

export function seesEveryLead(role: Role): boolean {
  return SEES_EVERY_LEAD.includes(role);
}

/** A lead as the API shows it. */
export type PublicLead = {
  id: string;
  externalId: string;
  name: string | null;
  phone: string | null;
  email: string | null;
  city: string | null;
  source: string | null;
  status: string;
  assignedTo: string | null;
  sourceAssignee: string | null;
  notes: string | null;
  createdAt: string;
  updatedAt: string;
  syncedAt: string | null;
};

export function toPublicLead(lead: Lead): PublicLead {
  return {
    id: lead.id,
    externalId: lead.external_id,
    name: lead.name,
    phone: lead.phone,
    email: lead.email,
    city: lead.city,
    source: lead.source,
    status: lead.status,
    assignedTo: lead.assigned_to,
    sourceAssignee: lead.source_assignee,
    notes: lead.notes,
    createdAt: lead.created_at.toISOString(),
    updatedAt: lead.updated_at.toISOString(),
    syncedAt: lead.synced_at?.toISOString() ?? null,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type LeadFilters = {
  status?: string;
  assignedTo?: string;
  /** Part of the name, phone or email (case-insensitive). */
  q?: string;
  updatedSince?: Date;
  limit: number;
  cursor?: string;
};

/** Most recently changed first, keyset on (updated_at, id); an agent's list holds only their leads. */
export async function listLeads(db: Db, viewer: LeadViewer, filters: LeadFilters): Promise<Page<PublicLead>> {
  let query = db
    .selectFrom('leads')
    .selectAll()
    .select(cursorTimestamp('updated_at').as('cursor_at'))
    .orderBy('updated_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filters.limit + 1);
  if (!seesEveryLead(viewer.role)) query = query.where('assigned_to', '=', viewer.userId);
  if (filters.status) query = query.where('status', '=', filters.status.toLowerCase());
  if (filters.assignedTo) query = query.where('assigned_to', '=', filters.assignedTo);
  if (filters.updatedSince) query = query.where('updated_at', '>=', filters.updatedSince);
  if (filters.q) {
    const pattern = `%${filters.q.replace(/[\\%_]/g, '\\$&')}%`;
    query = query.where((eb) =>
      eb.or([eb('name', 'ilike', pattern), eb('phone', 'ilike', pattern), eb('email', 'ilike', pattern)]),
    );
  }
  if (filters.cursor) {
    const [at, id] = decodeCursor(filters.cursor, ['timestamp', 'string'] as const);
    if (!UUID.test(id)) throw new InvalidCursorError('cursor is not one this API issued');
    query = query.where(olderThanCursor('updated_at', 'id', at, id));
  }
  return pageOf(await query.execute(), filters.limit, toPublicLead, (l) => [l.cursor_at, l.id]);
}

/** The lead, if this viewer may see it (another agent's lead is "not found", not "forbidden"). */
export async function findLeadFor(db: Db, viewer: LeadViewer, id: string): Promise<Lead | undefined> {
  if (!UUID.test(id)) return undefined;
  let query = db.selectFrom('leads').selectAll().where('id', '=', id);
  if (!seesEveryLead(viewer.role)) query = query.where('assigned_to', '=', viewer.userId);
  return query.executeTakeFirst();
}

export type LeadPatch = { status?: string; assignedTo?: string | null; notes?: string | null };

/**
 * Changes status, assignee or notes. The edit time (whole milliseconds, as JSON carries them) is
 * kept, so a later sync of an older source version does not undo it.
 */
export async function updateLeadFor(db: Db, viewer: LeadViewer, id: string, patch: LeadPatch): Promise<Lead> {
  const lead = await findLeadFor(db, viewer, id);
  if (!lead) throw new NotFoundError('lead not found');
  const now = sql<Date>`date_trunc('milliseconds', now())`;
  const updated = await db
    .updateTable('leads')
    .set({
      ...(patch.status === undefined ? {} : { status: patch.status.toLowerCase() }),
      ...(patch.assignedTo === undefined ? {} : { assigned_to: patch.assignedTo }),
      ...(patch.notes === undefined ? {} : { notes: patch.notes }),
      edited_at: now,
      updated_at: now,
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  if (!updated) throw new NotFoundError('lead not found');
  return updated;
}

/** Whether a user may be given leads: an active agent, manager or admin. */
export async function isAssignableUser(db: Db, userId: string): Promise<boolean> {
  if (!UUID.test(userId)) return false;
  const row = await db
    .selectFrom('users')
    .select('id')
    .where('id', '=', userId)
    .where('is_active', '=', true)
    .where('role', 'in', ['md', 'admin', 'manager', 'agent'])
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Upserts a batch of source rows by external id and moves the sync cursor, in one statement (so
 * one transaction, and safe behind transaction poolers and on pglite-socket). Unchanged rows are
 * left alone, so a full resync rewrites nothing. The source's assignee email is matched to a user.
 * Where a PATCH is newer than the source row, the local status, assignee and notes stay.
 */
export async function upsertLeadBatch(
  db: Db,
  records: readonly LeadRecord[],
  cursor: { source: string; value: unknown },
): Promise<{ inserted: number; updated: number }> {
  const keepLocal = sql`leads.edited_at is not null and leads.edited_at >= excluded.source_updated_at`;
  // The batch goes in as one JSON parameter read by json_to_recordset: JSON.stringify costs the
  // event loop a fraction of what pg's encoding of eleven text[] parameters does. Times as epoch
  // milliseconds (a Date would go through toJSON).
  const rows = JSON.stringify(
    records.map((r) => ({
      e: r.externalId,
      n: r.name,
      p: r.phone,
      m: r.email,
      c: r.city,
      so: r.source,
      st: r.status,
      a: r.assignee,
      no: r.notes,
      cr: r.createdAt.getTime(),
      u: r.updatedAt.getTime(),
    })),
  );
  const result = await sql<{ inserted: number; updated: number }>`
    with written as (
      insert into leads (external_id, name, phone, email, city, source, status, assigned_to, source_assignee, notes,
        created_at, updated_at, source_updated_at, synced_at)
      select s.external_id, s.name, s.phone, s.email, s.city, s.source, s.status, u.id, s.assignee, s.notes,
        s.created_at, s.updated_at, s.updated_at, now()
      from (
        select e as external_id, n as name, p as phone, m as email, c as city, so as source, st as status,
          a as assignee, no as notes, to_timestamp(cr / 1000.0) as created_at, to_timestamp(u / 1000.0) as updated_at
        from json_to_recordset(${rows}::json) as t(e text, n text, p text, m text, c text, so text, st text, a text,
          no text, cr float8, u float8)
      ) s
      left join users u on u.email = s.assignee
      on conflict (external_id) do update set
        name = excluded.name, phone = excluded.phone, email = excluded.email, city = excluded.city,
        source = excluded.source, source_assignee = excluded.source_assignee, created_at = excluded.created_at,
        status = case when ${keepLocal} then leads.status else excluded.status end,
        assigned_to = case when ${keepLocal} then leads.assigned_to else excluded.assigned_to end,
        notes = case when ${keepLocal} then leads.notes else excluded.notes end,
        updated_at = greatest(excluded.source_updated_at, leads.edited_at),
        source_updated_at = excluded.source_updated_at,
        synced_at = now()
      where (leads.name, leads.phone, leads.email, leads.city, leads.source, leads.source_assignee, leads.created_at,
          leads.source_updated_at, leads.status, leads.assigned_to, leads.notes)
        is distinct from (excluded.name, excluded.phone, excluded.email, excluded.city, excluded.source,
          excluded.source_assignee, excluded.created_at, excluded.source_updated_at,
          case when ${keepLocal} then leads.status else excluded.status end,
          case when ${keepLocal} then leads.assigned_to else excluded.assigned_to end,
          case when ${keepLocal} then leads.notes else excluded.notes end)
      returning (xmax = 0) as inserted
    ),
    moved as (
      insert into sync_cursors (source, cursor) values (${cursor.source}, ${JSON.stringify(cursor.value)}::jsonb)
      on conflict (source) do update set cursor = excluded.cursor, updated_at = now()
    )
    select count(*) filter (where inserted)::int as inserted, count(*) filter (where not inserted)::int as updated
    from written`.execute(db);
  return result.rows[0] ?? { inserted: 0, updated: 0 };
}
