/** Domain errors thrown below the HTTP boundary; functions/errors.ts maps them once. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export class ConflictError extends Error {
  override name = 'ConflictError';
}

export class DependencyUnavailableError extends Error {
  override name = 'DependencyUnavailableError';
  readonly dependency: string;
  constructor(dependency: string, message: string) {
    super(message);
    this.dependency = dependency;
  }
}

/** Object storage (S3) cannot be reached: a network failure on the way to it, not a refusal by it. */
export class StorageUnavailableError extends DependencyUnavailableError {
  override name = 'StorageUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('storage', message);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** Socket error codes that mean "cannot reach the server right now". */
export const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);

/**
 * True for failures that mean "the database cannot be reached right now" rather than a bad
 * query: network errors (except those already attributed to another dependency, such as
 * storage's StorageUnavailableError), pg connection-exception SQLSTATEs (class 08), admin shutdown (57P0x),
 * pool connect timeouts and query read timeouts (DATABASE_QUERY_TIMEOUT_MS).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // Another dependency's failure (storage's ECONNRESET is not the database's).
  if (error instanceof DependencyUnavailableError) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('08') || code.startsWith('57P'))) {
    return true;
  }
  return /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Connection ended unexpectedly|connect ECONNREFUSED|Client has encountered a connection error|proxy request failed|Network connection lost/i.test(
    error.message,
  );
}

/** Content that is not of an accepted type (e.g. an upload whose bytes are not an image or PDF). */
export class UnsupportedMediaTypeError extends Error {
  override name = 'UnsupportedMediaTypeError';
}
