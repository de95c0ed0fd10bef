import { fromBase64Url, toBase64Url, utf8 } from './auth/crypto.ts';

/** Keyset pagination: an opaque cursor holds the last row's sort key. Never OFFSET. */
export const MAX_PAGE_SIZE = 200;

export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
}

export function encodeCursor(key: readonly (string | number)[]): string {
  return toBase64Url(utf8(JSON.stringify(key)));
}

/** Decodes a cursor made by encodeCursor with the given shape, or throws InvalidCursorError. */
export function decodeCursor<const T extends readonly ('string' | 'number')[]>(
  cursor: string,
  shape: T,
): { [K in keyof T]: T[K] extends 'number' ? number : string } {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(fromBase64Url(cursor)));
  } catch {
    throw new InvalidCursorError('cursor is not one this API issued');
  }
  if (!Array.isArray(value) || value.length !== shape.length || value.some((v, i) => typeof v !== shape[i])) {
    throw new InvalidCursorError('cursor is not one this API issued');
  }
  return value as never;
}

export type Page<T> = { items: T[]; nextCursor: string | null };
