/**
 * pglite-socket 0.2.17 queues the wire protocol message by message, and only keeps one client's
 * messages together while PGlite is inside that client's transaction. Outside one, a client's
 * extended-protocol batch (Parse, Bind, Execute, Sync) can interleave with another client's:
 * "bind message supplies 4 parameters, but prepared statement "" requires 27". It shows up as soon
 * as several clients queue at once, e.g. behind a backup's long snapshot transaction.
 *
 * This keeps each client's batch whole: once a client's Parse/Bind/Describe/Execute is run, its
 * next messages run before anyone else's, up to its Sync (or a simple Query).
 */
type QueuedMessage = {
  handlerId: number;
  message: Uint8Array;
  resolve(bytes: number): void;
  reject(error: unknown): void;
  onData(data: Uint8Array): void;
};

type QueryQueue = {
  queue: QueuedMessage[];
  processing: boolean;
  lastHandlerId: number | null;
  db: {
    isInTransaction(): boolean;
    runExclusive<T>(fn: () => Promise<T>): Promise<T>;
    execProtocolRawStream(message: Uint8Array, options: { onRawData(data: Uint8Array): void }): Promise<unknown>;
  };
  processQueue(): Promise<void>;
  clearQueueForHandler(handlerId: number): void;
};

const SYNC = 0x53; // 'S'
const QUERY = 0x51; // 'Q'
const TERMINATE = 0x58; // 'X'
/** Extended-protocol messages that leave a batch open until the client's Sync. */
const BATCH_OPENERS = new Set([0x50, 0x42, 0x44, 0x45, 0x43, 0x48]); // P B D E C H

export function keepProtocolBatchesWhole(server: unknown): void {
  const queue = (server as { queryQueue?: QueryQueue }).queryQueue;
  if (!queue || typeof queue.processQueue !== 'function') {
    throw new Error('pglite-socket changed: its query queue is not where local/pglite-queue.ts expects it');
  }
  let openBatch: number | null = null;
  const clear = queue.clearQueueForHandler.bind(queue);
  queue.clearQueueForHandler = (handlerId) => {
    if (openBatch === handlerId) openBatch = null;
    clear(handlerId);
  };
  queue.processQueue = async function processQueue(this: QueryQueue) {
    if (this.processing || this.queue.length === 0) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const owner = this.db.isInTransaction() && this.lastHandlerId !== null ? this.lastHandlerId : openBatch;
        const index = owner === null ? 0 : this.queue.findIndex((q) => q.handlerId === owner);
        if (index === -1) break; // the owner's next message has not arrived yet
        const [item] = this.queue.splice(index, 1) as [QueuedMessage];
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              onRawData: (data) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (error) {
          openBatch = null;
          item.reject(error);
          return;
        }
        const type = item.message[0] ?? 0;
        if (type === SYNC || type === QUERY || type === TERMINATE) openBatch = null;
        else if (BATCH_OPENERS.has(type)) openBatch = item.handlerId;
        this.lastHandlerId = item.handlerId;
        item.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  };
}
