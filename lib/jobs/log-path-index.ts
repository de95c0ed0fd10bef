import { isPglite } from '../db/connection.ts';
import { indexRequestLogPathSearch } from '../observability/partitions.ts';
import type { JobDefinition } from './types.ts';

/**
 * Keeps request log path search on trigram indexes through the day: today's quarter-hours that
 * have ended get a partial index (replacing the one before), and a day that has ended gets its
 * full one (log_cleanup does that at 03:00 too; this gives it minutes after midnight). See
 * indexRequestLogPathSearch.
 */
export const logPathIndex: JobDefinition = {
  name: 'log_path_index',
  schedule: '*/15 * * * *',
  timeoutMs: 10 * 60_000,
  description:
    "Indexes request log paths for path search: today's quarter-hours that have ended and every day that has ended (pg_trgm)",
  async handler({ db }) {
    // CONCURRENTLY keeps the writer inserting while an index builds; the embedded PGlite serves
    // one statement at a time anyway, and builds there in place.
    const { closed, partial, dropped } = await indexRequestLogPathSearch(db, { concurrently: !(await isPglite(db)) });
    if (!partial && closed.length === 0 && dropped.length === 0) {
      return {
        recordsProcessed: 0,
        message: 'nothing to index (pg_trgm missing, or no quarter-hour of today has ended)',
      };
    }
    return {
      recordsProcessed: closed.length + (partial ? 1 : 0),
      message: `today until the last quarter-hour: ${partial ?? 'none yet'}; ended days indexed: ${closed.join(', ') || 'none'}; superseded and dropped: ${dropped.join(', ') || 'none'}`,
    };
  },
};
