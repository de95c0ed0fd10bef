import { type RawBuilder, sql } from 'kysely';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids reach queries only when well formed, so a stray value is "not found", never a database error. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Postgres unique_violation (23505), e.g. a second machine with the same code. */
export function uniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '23505';
}

/**
 * A timestamptz column as the API writes it (Date#toISOString's form), formatted by Postgres:
 * list routes skip parsing every timestamp into a Date only to format it again (that was half
 * the client-side cost of a 50-row page). Milliseconds: exact for columns stored as
 * timestamptz(3), truncated otherwise.
 */
export function isoTimestamp(column: string): RawBuilder<string> {
  return sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

export function isoTimestampOrNull(column: string): RawBuilder<string | null> {
  return isoTimestamp(column) as RawBuilder<string | null>;
}
