import { sql } from 'kysely';
import type { Punch, PunchDirection } from '../../schema/database.ts';
import type { Db } from '../db/connection.ts';
import { cursorTimestamp, decodeCursor, olderThanCursor, type Page, pageOf } from '../pagination.ts';
import type { DevicePunch } from './attendance-source.ts';
import type { RejectedRow } from './sync-report.ts';
import { dayRange, parseTimestamp } from './time-zone.ts';

/** A punch that passed validation, its time converted to UTC. */
export type PunchRecord = {
  employeeCode: string;
  employeeName: string | null;
  punchedAt: Date;
  direction: PunchDirection;
  deviceId: string;
  externalId: string | null;
};

/** A string or number as trimmed text (null when empty); a NUL, which Postgres text cannot hold, as U+FFFD. */
const plainText = (value: unknown): string | null => {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  let s = String(value).trim();
  if (s.includes('\0')) s = s.replaceAll('\0', '\ufffd');
  return s === '' ? null : s;
};

/**
 * Checks one device punch: an employee code, a real time (wall clock in `timeZone`, or with its
 * own offset) and a direction in or out.
 */
export function validatePunch(punch: DevicePunch, timeZone: string): PunchRecord | RejectedRow {
  const externalId = plainText(punch.id);
  const employeeCode = plainText(punch.employee_code);
  const label = externalId ?? `${employeeCode ?? '(no employee)'}@${plainText(punch.punch_time) ?? '?'}`;
  if (!employeeCode || employeeCode.length > 64) return { externalId: label, reason: 'no employee_code' };
  const time = plainText(punch.punch_time);
  const punchedAt = time ? parseTimestamp(time, timeZone) : undefined;
  if (!punchedAt) return { externalId: label, reason: `punch_time "${time ?? ''}" is not a date and time` };
  const direction = plainText(punch.direction)?.toLowerCase();
  if (direction !== 'in' && direction !== 'out') {
    return { externalId: label, reason: `direction "${direction ?? ''}" is not in or out` };
  }
  return {
    employeeCode,
    employeeName: plainText(punch.employee_name)?.slice(0, 200) ?? null,
    punchedAt,
    direction,
    deviceId: plainText(punch.device_id)?.slice(0, 120) ?? '',
    externalId: externalId?.slice(0, 255) ?? null,
  };
}

/**
 * Inserts a page of punches, dropping those already stored (the natural key: employee, device,
 * instant), and moves the sync cursor when given, in one statement. Returns how many were new.
 */
export async function insertPunchBatch(
  db: Db,
  punches: readonly PunchRecord[],
  cursor?: { source: string; value: unknown },
): Promise<number> {
  const column = <T>(pick: (p: PunchRecord) => T) => punches.map(pick);
  const result = await sql<{ inserted: number }>`
    with written as (
      insert into attendance (employee_code, employee_name, punched_at, direction, device_id, external_id)
      select * from unnest(
        ${column((p) => p.employeeCode)}::text[], ${column((p) => p.employeeName)}::text[],
        ${column((p) => p.punchedAt.toISOString())}::timestamptz[], ${column((p) => p.direction)}::text[],
        ${column((p) => p.deviceId)}::text[], ${column((p) => p.externalId)}::text[])
      on conflict (employee_code, device_id, punched_at) do nothing
      returning 1
    )${
      cursor
        ? sql`,
    moved as (
      insert into sync_cursors (source, cursor) values (${cursor.source}, ${JSON.stringify(cursor.value)}::jsonb)
      on conflict (source) do update set cursor = excluded.cursor, updated_at = now()
    )`
        : sql``
    }
    select count(*)::int as inserted from written`.execute(db);
  return result.rows[0]?.inserted ?? 0;
}

export type PublicPunch = {
  id: number;
  employeeCode: string;
  employeeName: string | null;
  punchedAt: string;
  direction: PunchDirection;
  deviceId: string;
  externalId: string | null;
};

export function toPublicPunch(p: Punch): PublicPunch {
  return {
    id: p.id,
    employeeCode: p.employee_code,
    employeeName: p.employee_name,
    punchedAt: p.punched_at.toISOString(),
    direction: p.direction,
    deviceId: p.device_id,
    externalId: p.external_id,
  };
}

export type PunchFilters = {
  employee?: string;
  /** Local calendar days in the attendance time zone, both included. */
  from?: string;
  to?: string;
  timeZone: string;
  limit: number;
  cursor?: string;
};

/** Newest first, keyset on (punched_at, id). */
export async function listPunches(db: Db, filters: PunchFilters): Promise<Page<PublicPunch>> {
  let query = db
    .selectFrom('attendance')
    .selectAll()
    .select(cursorTimestamp('punched_at').as('cursor_at'))
    .orderBy('punched_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filters.limit + 1);
  if (filters.employee) query = query.where('employee_code', '=', filters.employee);
  if (filters.from) query = query.where('punched_at', '>=', dayRange(filters.from, filters.timeZone).start);
  if (filters.to) query = query.where('punched_at', '<', dayRange(filters.to, filters.timeZone).end);
  if (filters.cursor) {
    const [at, id] = decodeCursor(filters.cursor, ['timestamp', 'integer'] as const);
    query = query.where(olderThanCursor('punched_at', 'id', at, id));
  }
  return pageOf(await query.execute(), filters.limit, toPublicPunch, (p) => [p.cursor_at, p.id]);
}

export type DailyAttendance = {
  employeeCode: string;
  employeeName: string | null;
  firstIn: string | null;
  lastOut: string | null;
  /** Hours between paired in and out punches. */
  hours: number;
  punches: number;
  /** An in with no out after it, or an out with no in before it. */
  missingPunches: number;
};

/** Per employee for one local day: first in, last out, worked hours and missing punches. */
export async function dailyAttendance(db: Db, date: string, timeZone: string): Promise<DailyAttendance[]> {
  const { start, end } = dayRange(date, timeZone);
  const rows = await db
    .selectFrom('attendance')
    .select(['employee_code', 'employee_name', 'punched_at', 'direction'])
    .where('punched_at', '>=', start)
    .where('punched_at', '<', end)
    .orderBy('employee_code')
    .orderBy('punched_at')
    .orderBy('id')
    .execute();
  const byEmployee = new Map<string, typeof rows>();
  for (const row of rows) {
    const list = byEmployee.get(row.employee_code) ?? [];
    list.push(row);
    byEmployee.set(row.employee_code, list);
  }
  return [...byEmployee.entries()].map(([employeeCode, punches]) => summarizeDay(employeeCode, punches));
}

/** Pairs each in with the next out, in time order; what has no partner is a missing punch. */
export function summarizeDay(
  employeeCode: string,
  punches: readonly { employee_name: string | null; punched_at: Date; direction: PunchDirection }[],
): DailyAttendance {
  let openIn: Date | undefined;
  let workedMs = 0;
  let missing = 0;
  for (const punch of punches) {
    if (punch.direction === 'in') {
      if (openIn) missing++; // two ins in a row: the first has no out
      openIn = punch.punched_at;
    } else if (openIn) {
      workedMs += punch.punched_at.getTime() - openIn.getTime();
      openIn = undefined;
    } else {
      missing++; // an out with no in before it
    }
  }
  if (openIn) missing++;
  const ins = punches.filter((p) => p.direction === 'in');
  const outs = punches.filter((p) => p.direction === 'out');
  return {
    employeeCode,
    employeeName: punches.findLast((p) => p.employee_name)?.employee_name ?? null,
    firstIn: ins[0]?.punched_at.toISOString() ?? null,
    lastOut: outs.at(-1)?.punched_at.toISOString() ?? null,
    hours: Math.round((workedMs / 3_600_000) * 100) / 100,
    punches: punches.length,
    missingPunches: missing,
  };
}
