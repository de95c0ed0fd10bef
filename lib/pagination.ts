import { type RawBuilder, sql } from 'kysely';
import { fromBase64Url, toBase64Url, utf8 } from './auth/crypto.ts';

/** Keyset pagination: an opaque cursor holds the last row's sort key. Never OFFSET. */
export const MAX_PAGE_SIZE = 200;

export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
}

export function encodeCursor(key: readonly (string | number)[]): string {
  return toBase64Url(utf8(JSON.stringify(key)));
}

/**
 * A cursor's timestamp: UTC ISO 8601 with milliseconds (what Date#toISOString writes) or with
 * microseconds (what cursorTimestamp writes), years 1-9999 (Postgres reads no year 0 in ISO form:
 * 1 BC is `0001 BC` there, so a year-0 cursor would be a database error, a 500).
 */
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(\d{3})?Z$/;

/**
 * A timestamp column as cursor text at the database's full precision (microseconds). A cursor
 * made from the row's JS Date (milliseconds) would skip the rows that share the last row's
 * millisecond but are older by a few microseconds (`now()` defaults write microseconds).
 */
export function cursorTimestamp(column: string): RawBuilder<string> {
  return sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

type CursorPart = 'string' | 'integer' | 'timestamp';
/** A timestamp part stays text (microseconds do not fit a Date); compare it as `::timestamptz`. */
type CursorValue<K> = K extends 'integer' ? number : string;

/**
 * Decodes a cursor made by encodeCursor with the given shape, or throws InvalidCursorError.
 * A cursor comes from the client: integers must be safe integers and timestamps exactly what
 * toISOString wrote, so a forged one is a 400 here rather than a database error (a 500) later.
 */
export function decodeCursor<const T extends readonly CursorPart[]>(
  cursor: string,
  shape: T,
): { [K in keyof T]: CursorValue<T[K]> } {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(fromBase64Url(cursor)));
  } catch {
    throw new InvalidCursorError('cursor is not one this API issued');
  }
  if (!Array.isArray(value) || value.length !== shape.length) {
    throw new InvalidCursorError('cursor is not one this API issued');
  }
  return value.map((part, i) => {
    const kind = shape[i];
    if (kind === 'integer' && Number.isSafeInteger(part)) return part;
    if (kind === 'string' && typeof part === 'string') return part;
    if (kind === 'timestamp' && typeof part === 'string' && ISO_TIMESTAMP.test(part)) {
      // A real instant: Date keeps the milliseconds, so the text must read back the same.
      const at = new Date(part);
      if (!Number.isNaN(at.getTime()) && at.getUTCFullYear() >= 1 && at.toISOString() === `${part.slice(0, 23)}Z`) {
        return part;
      }
    }
    throw new InvalidCursorError('cursor is not one this API issued');
  }) as never;
}

export type Page<T> = { items: T[]; nextCursor: string | null };

/**
 * Where-clause of the page after a cursor in newest-first (at, id) order: `(at, id) < cursor` as a
 * row comparison, which a btree on (at, id) answers as one index range, plus `at <= cursor.at` so
 * the planner also prunes time partitions. (An `or` of the two comparisons reads every newer row
 * before the first one it returns.)
 */
export function olderThanCursor(atColumn: string, idColumn: string, at: string, id: number | string) {
  const instant = sql`${at}::timestamptz`;
  return sql<boolean>`${sql.ref(atColumn)} <= ${instant} and (${sql.ref(atColumn)}, ${sql.ref(idColumn)}) < (${instant}, ${id})`;
}

/** A page from `limit + 1` fetched rows: the first `limit`, and a cursor when there was one more. */
export function pageOf<Row, Item>(
  rows: readonly Row[],
  limit: number,
  toItem: (row: Row) => Item,
  cursorKey: (row: Row) => readonly (string | number)[],
): Page<Item> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(toItem), nextCursor: rows.length > limit && last ? encodeCursor(cursorKey(last)) : null };
}
