import { sql } from 'kysely';
import { fromBase64Url, toBase64Url, utf8 } from './auth/crypto.ts';

/** Keyset pagination: an opaque cursor holds the last row's sort key. Never OFFSET. */
export const MAX_PAGE_SIZE = 200;

export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
}

export function encodeCursor(key: readonly (string | number)[]): string {
  return toBase64Url(utf8(JSON.stringify(key)));
}

/** What Date#toISOString writes for years 0-9999 (the ones Postgres timestamps hold). */
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

type CursorPart = 'string' | 'integer' | 'timestamp';
type CursorValue<K> = K extends 'integer' ? number : K extends 'timestamp' ? Date : string;

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
      const at = new Date(part);
      if (!Number.isNaN(at.getTime()) && at.toISOString() === part) return at;
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
export function olderThanCursor(atColumn: string, idColumn: string, at: Date, id: number | string) {
  return sql<boolean>`${sql.ref(atColumn)} <= ${at} and (${sql.ref(atColumn)}, ${sql.ref(idColumn)}) < (${at}, ${id})`;
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
