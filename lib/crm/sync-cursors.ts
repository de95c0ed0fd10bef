import { sql } from 'kysely';
import type { Db } from '../db/connection.ts';

/** Where a source's next incremental read starts, or undefined before its first committed batch. */
export async function readSyncCursor<T>(db: Db, source: string): Promise<T | undefined> {
  const row = await db.selectFrom('sync_cursors').select('cursor').where('source', '=', source).executeTakeFirst();
  return row?.cursor as T | undefined;
}

/** Moves a source's cursor; call it in the transaction that writes the batch it follows. */
export async function writeSyncCursor(db: Db, source: string, cursor: unknown): Promise<void> {
  await db
    .insertInto('sync_cursors')
    .values({ source, cursor: JSON.stringify(cursor) })
    .onConflict((oc) => oc.column('source').doUpdateSet({ cursor: JSON.stringify(cursor), updated_at: sql`now()` }))
    .execute();
}
