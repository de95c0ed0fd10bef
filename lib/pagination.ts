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
 * A page from rows fetched with `limit + 1`: the extra row only says there is a next page, whose
 * cursor is the sort key of the last row shown.
 */
export function toPage<R, V>(
  rows: readonly R[],
  limit: number,
  sortKey: (row: R) => readonly (string | number)[],
  view: (row: R) => V,
): Page<V> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(view),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(sortKey(last)) : null,
  };
}
