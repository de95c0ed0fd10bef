import type { Config } from '../config.ts';
import type { JobContext, JobDefinition, JobResult } from '../jobs/types.ts';
import { type LeadRecord, validateLeadRow } from './lead-rows.ts';
import { upsertLeadBatch } from './leads.ts';
import { isTransientMysqlError, type LeadsCursor, MysqlLeadsSource, type SourceRow } from './mysql-leads-source.ts';
import { callSource } from './retry.ts';
import { readSyncCursor } from './sync-cursors.ts';
import { describeRejected, isRejected, type RejectedRow } from './sync-report.ts';
import { wallClock } from './time-zone.ts';

export const LEADS_CURSOR_SOURCE = 'leads';

/** Base wait before retrying a failed source read (doubled per try). Tests shorten it. */
export const LEADS_RETRY_BASE_MS = 250;

function unconfigured(config: Config): string | null {
  return config.crm.leads.mysqlUrl ? null : 'LEADS_MYSQL_URL is not set';
}

export type LeadsSyncOptions = Pick<JobContext, 'db' | 'config' | 'logger' | 'signal'> & {
  full?: boolean;
  retryBaseMs?: number;
  /** Called after each batch and its cursor have committed (progress reports; tests cut the source here). */
  onBatchCommitted?(progress: { batches: number; rows: number; cursor: LeadsCursor }): void | Promise<void>;
};

/**
 * Reads the MySQL/MariaDB leads table in (updated_at, id) order from the stored cursor and upserts
 * each batch by external id; each batch and the cursor after it commit together, so a run that
 * fails or is killed leaves everything before its last commit and nothing after it. Invalid rows
 * are skipped, counted and named. `full` starts again from the beginning (idempotent).
 */
export async function syncLeads(ctx: LeadsSyncOptions): Promise<JobResult> {
  const reason = unconfigured(ctx.config);
  if (reason) throw new Error(`leads_sync is not configured: ${reason}`);
  const { db, logger, signal } = ctx;
  const settings = ctx.config.crm.leads;
  const { timeoutMs, maxAttempts } = ctx.config.crm.sync;
  const source = new MysqlLeadsSource({
    url: settings.mysqlUrl as string,
    table: settings.table,
    columns: settings.columns,
    timeoutMs,
  });
  const closeOnAbort = () => void source.close();
  signal.addEventListener('abort', closeOnAbort, { once: true });

  const totals = { read: 0, inserted: 0, updated: 0, batches: 0 };
  const rejected: RejectedRow[] = [];
  const retrying = <T>(what: string, work: () => Promise<T>) =>
    callSource(what, work, {
      source: 'leads source',
      attempts: maxAttempts,
      baseDelayMs: ctx.retryBaseMs ?? LEADS_RETRY_BASE_MS,
      signal,
      logger,
      isTransient: isTransientMysqlError,
      committed: () => ({ batches: totals.batches, rows: totals.read }),
    });

  try {
    let cursor = ctx.full ? undefined : await readSyncCursor<LeadsCursor>(db, LEADS_CURSOR_SOURCE);
    const unreachable = await retrying('rows without updated_at', () => source.rowsWithoutUpdatedAt());
    // A row written by a transaction still open now may commit later with an earlier updated_at
    // than rows already read: rows younger than the settling window wait for the next run.
    const sourceNow = await retrying('clock', () => source.clock());
    const before = wallClock(new Date(sourceNow.getTime() - settings.settleSeconds * 1000), settings.timeZone);
    const read = (after: LeadsCursor | undefined) =>
      retrying('batch', () => source.readBatch(after, settings.batchSize, before));

    let pending: Promise<SourceRow[]> | undefined = read(cursor);
    while (pending) {
      const rows: SourceRow[] = await pending;
      pending = undefined;
      signal.throwIfAborted();
      if (rows.length === 0) break;
      const last = rows.at(-1) as SourceRow;
      const next: LeadsCursor = { updatedAt: String(last.updated_at), id: cursorId(last.external_id) };
      // The next batch is read while this one is written.
      if (rows.length === settings.batchSize) {
        pending = read(next);
        pending.catch(() => {}); // awaited on the next turn; never an unhandled rejection meanwhile
      }
      const records = new Map<string, LeadRecord>();
      for (const row of rows) {
        const result = validateLeadRow(row, settings.timeZone);
        if (isRejected(result)) rejected.push(result);
        else records.set(result.externalId, result);
      }
      const written = await upsertLeadBatch(db, [...records.values()], {
        source: LEADS_CURSOR_SOURCE,
        value: next,
      });
      totals.batches++;
      totals.read += rows.length;
      totals.inserted += written.inserted;
      totals.updated += written.updated;
      cursor = next;
      await ctx.onBatchCommitted?.({ batches: totals.batches, rows: totals.read, cursor });
    }

    const accepted = totals.read - rejected.length;
    const parts = [
      `${ctx.full ? 'full resync: ' : ''}read ${totals.read} rows in ${totals.batches} batches`,
      `${totals.inserted} new, ${totals.updated} updated, ${accepted - totals.inserted - totals.updated} unchanged`,
    ];
    if (rejected.length > 0) parts.push(describeRejected(rejected));
    if (unreachable.count > 0) {
      parts.push(
        `${unreachable.count > 1000 ? 'over 1000' : unreachable.count} source rows have no updated_at and cannot be synced (${unreachable.sampleIds.join(', ')}${unreachable.count > unreachable.sampleIds.length ? ', …' : ''})`,
      );
    }
    parts.push(cursor ? `cursor at (${cursor.updatedAt}, ${cursor.id})` : 'source is empty');
    for (const row of rejected) logger.warn('lead skipped', { externalId: row.externalId, reason: row.reason });
    return { recordsProcessed: accepted, message: parts.join('; ') };
  } finally {
    signal.removeEventListener('abort', closeOnAbort);
    await source.close();
  }
}

function cursorId(value: unknown): string | number {
  return typeof value === 'number' ? value : String(value);
}

export const leadsSync: JobDefinition = {
  name: 'leads_sync',
  schedule: '*/5 * * * *',
  timeoutMs: 4 * 60_000,
  description:
    'Upserts leads from the MySQL/MariaDB CRM table (LEADS_MYSQL_URL) by external id, incrementally by (updated_at, id); --full resyncs from the start',
  aliases: ['leads'],
  unconfigured,
  handler: (ctx) => syncLeads({ ...ctx, full: ctx.options.full === true }),
};
