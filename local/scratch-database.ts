import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ScratchDatabase, scratchDatabaseBeside } from '../lib/backup/drill.ts';
import { createDb, createPool, type Db, isPglite } from '../lib/db/connection.ts';
import { startEmbeddedPostgres } from './embedded-postgres.ts';

/** A throwaway embedded PGlite for a restore drill of the embedded database (Node only). */
export async function scratchPglite(): Promise<ScratchDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'opsbase-drill-'));
  try {
    const embedded = await startEmbeddedPostgres({ dataDir: dir, port: 0 });
    const db = createDb(createPool(embedded.url, { max: 2 }));
    return {
      db,
      describe: `a scratch embedded PGlite in ${dir}`,
      async drop() {
        await db.destroy();
        await embedded.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Node's drill target: a scratch PGlite for the embedded database, else a database beside the source. */
export async function nodeScratchDatabase(source: Db): Promise<ScratchDatabase> {
  return (await isPglite(source)) ? scratchPglite() : scratchDatabaseBeside(source);
}
