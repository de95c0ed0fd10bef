import type { SourceRow } from './mysql-leads-source.ts';
import type { RejectedRow } from './sync-report.ts';
import { parseTimestamp } from './time-zone.ts';

/** A source row that passed validation, ready to upsert. */
export type LeadRecord = {
  externalId: string;
  name: string | null;
  phone: string | null;
  email: string | null;
  city: string | null;
  source: string | null;
  status: string;
  /** The source's assignee (an agent's email, lower-cased). */
  assignee: string | null;
  notes: string | null;
  createdAt: Date;
  updatedAt: Date;
};

const LIMITS = { externalId: 255, name: 200, phone: 50, email: 254, city: 120, source: 120, status: 50, notes: 10_000 };
const CHECKED_FIELDS = ['name', 'phone', 'email', 'city', 'source', 'status', 'notes'] as const;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const decoder = new TextDecoder();

/**
 * Text of a source value: strings trimmed, numbers and binary strings as text, empty as null. A
 * NUL, which MySQL stores and Postgres text cannot, becomes U+FFFD (as in the request log), so
 * one such row neither fails its batch nor blocks every run after it.
 */
function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  let s = (value instanceof Uint8Array ? decoder.decode(value) : String(value)).trim();
  if (s.includes('\0')) s = s.replaceAll('\0', '\ufffd');
  return s === '' ? null : s;
}

/**
 * Checks one source row. A lead needs its id, a real updated_at, and a way to reach the person
 * (name, phone or email); a field over its length or a malformed email rejects the row, naming why.
 */
export function validateLeadRow(row: SourceRow, timeZone: string): LeadRecord | RejectedRow {
  const externalId = text(row.external_id);
  if (!externalId) return { externalId: '(none)', reason: 'no id' };
  if (externalId.length > LIMITS.externalId) {
    return { externalId: `${externalId.slice(0, 40)}…`, reason: `id longer than ${LIMITS.externalId}` };
  }
  const reject = (reason: string): RejectedRow => ({ externalId, reason });

  const updatedText = text(row.updated_at);
  const updatedAt = updatedText ? parseTimestamp(updatedText, timeZone) : undefined;
  if (!updatedAt) return reject(`updated_at "${updatedText ?? ''}" is not a date and time`);
  const createdText = text(row.created_at);
  const createdAt = createdText ? parseTimestamp(createdText, timeZone) : updatedAt;
  if (!createdAt) return reject(`created_at "${createdText}" is not a date and time`);

  const fields = {
    name: text(row.name),
    phone: text(row.phone),
    email: text(row.email)?.toLowerCase() ?? null,
    city: text(row.city),
    source: text(row.source),
    status: text(row.status)?.toLowerCase() ?? 'new',
    notes: text(row.notes),
  };
  for (const field of CHECKED_FIELDS) {
    const value = fields[field];
    if (value && value.length > LIMITS[field]) return reject(`${field} longer than ${LIMITS[field]} characters`);
  }
  if (!fields.name && !fields.phone && !fields.email) return reject('no name, phone or email');
  if (fields.email && !EMAIL.test(fields.email)) return reject(`email "${fields.email}" is malformed`);
  return { externalId, ...fields, assignee: text(row.assigned_to)?.toLowerCase() ?? null, createdAt, updatedAt };
}
