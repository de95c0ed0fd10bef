const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids reach queries only when well formed, so a stray value is "not found", never a database error. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Postgres unique_violation (23505), e.g. a second machine with the same code. */
export function uniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '23505';
}
