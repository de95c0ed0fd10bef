/** What both syncs say about skipped rows and failed sources, in their runs' messages. */

const NAMED = 10;

/** A source record that failed validation: its id (or a label) and why. */
export type RejectedRow = { externalId: string; reason: string };

export function isRejected<T extends object>(result: T | RejectedRow): result is RejectedRow {
  return 'reason' in result;
}

/** "skipped 3 invalid rows: L-9 (email "x" is malformed), ..." naming the first few. */
export function describeRejected(rows: readonly RejectedRow[]): string {
  const named = rows.slice(0, NAMED).map((r) => `${r.externalId} (${r.reason})`);
  const more = rows.length > NAMED ? `, and ${rows.length - NAMED} more (see the log)` : '';
  return `skipped ${rows.length} invalid row${rows.length === 1 ? '' : 's'}: ${named.join(', ')}${more}`;
}

/**
 * A source that failed after its tries: the reason, and what was committed before it (the
 * cursor stays after the last committed batch, so the next run resumes there).
 */
export class SyncSourceError extends Error {
  override name = 'SyncSourceError';
  constructor(
    what: string,
    cause: unknown,
    attempts: number,
    transient: boolean,
    done: { batches: number; rows: number },
  ) {
    const reason = cause instanceof Error ? cause.message || cause.name : String(cause);
    const tries = transient && attempts > 1 ? ` (after ${attempts} tries)` : '';
    const progress =
      done.batches > 0
        ? `${done.batches} batches (${done.rows} rows) were committed before it; the cursor stays after them`
        : 'nothing was written; the cursor did not move';
    super(`${what} ${transient ? 'unavailable' : 'failed'}: ${reason}${tries}; ${progress}`, { cause });
  }
}
