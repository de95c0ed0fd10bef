import type { ParentMessage, ServerMessage } from './ipc.ts';

/**
 * For bench servers: tells the parent bench the port, answers its CPU-time queries, and stops
 * on SIGTERM/SIGINT or when the parent goes away (its IPC channel closes), so no server
 * outlives a killed bench.
 */
export function announceListening(port: number, close: () => Promise<void>): void {
  const send = (message: ServerMessage) => process.send?.(message);
  send({ listening: { port } });
  process.on('message', (message: ParentMessage) => {
    if (!('cpuUsage' in message)) return;
    const { user, system } = process.cpuUsage();
    send({ cpuMicros: user + system });
  });

  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('bench server failed to close', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
}
