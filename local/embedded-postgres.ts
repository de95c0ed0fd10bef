import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { keepProtocolBatchesWhole } from './pglite-queue.ts';

export type EmbeddedPostgres = {
  /** A postgres:// URL any client (pg, psql, wrangler dev) can use. */
  url: string;
  port: number;
  stop(): Promise<void>;
};

/**
 * PGlite persisted in a directory, served on a loopback port over the Postgres wire protocol.
 * The app reaches it through that port with pg like any Postgres, never in-process: a socket
 * client's write made during an in-process transaction would land inside that transaction.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  host?: string;
  maxConnections?: number;
}): Promise<EmbeddedPostgres> {
  const host = options.host ?? '127.0.0.1';
  mkdirSync(options.dataDir, { recursive: true });
  // pg_trgm: the trigram index behind request log path search (migration 0011).
  const db = await PGlite.create(options.dataDir, { extensions: { pg_trgm } });
  const server = new PGLiteSocketServer({ db, host, port: options.port, maxConnections: options.maxConnections ?? 32 });
  keepProtocolBatchesWhole(server);
  try {
    await server.start();
  } catch (error) {
    await db.close();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`port ${options.port} on ${host} is already in use: set LOCAL_PG_PORT to a free port`);
    }
    throw error;
  }
  // port 0 asks the OS for a free one; read back what we got.
  const address = (server as unknown as { server?: { address(): { port: number } | null } }).server?.address();
  const port = address?.port ?? options.port;
  let stopped: Promise<void> | undefined;
  return {
    url: `postgres://postgres:postgres@${host}:${port}/postgres`,
    port,
    stop() {
      stopped ??= (async () => {
        await server.stop();
        await db.close();
      })();
      return stopped;
    },
  };
}
