import { childFailure, spawnTsChild, type TsChild } from './child.ts';
import type { ParentMessage, ServerMessage } from './ipc.ts';

const READY_TIMEOUT_MS = 120_000;

export type ServerChild = TsChild & {
  port: number;
  url: string;
  /** CPU time the server process has used so far, in microseconds (asked over IPC). */
  cpuMicros(): Promise<number>;
};

/**
 * Starts a bench server (bench/servers/*.ts) in its own process, so the load generator never
 * shares its event loop, and waits for the port it reports over IPC (it listens on port 0).
 */
export async function startServerChild(entry: string, env: NodeJS.ProcessEnv = {}): Promise<ServerChild> {
  const child = spawnTsChild(entry, { env: { ...process.env, ...env, PORT: '0' }, ipc: true });
  const messages = child.process;
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(childFailure(entry, child, `did not listen within ${READY_TIMEOUT_MS / 1000} s`)),
        READY_TIMEOUT_MS,
      );
      messages.on('message', (message: ServerMessage) => {
        if (!('listening' in message)) return;
        clearTimeout(timer);
        resolve(message.listening.port);
      });
      child.exited.then((code) => {
        clearTimeout(timer);
        reject(childFailure(entry, child, `exited (${code}) before listening`));
      });
    });
    return {
      ...child,
      port,
      url: `http://127.0.0.1:${port}`,
      cpuMicros: () =>
        new Promise((resolve, reject) => {
          const onMessage = (message: ServerMessage) => {
            if (!('cpuMicros' in message)) return;
            messages.off('message', onMessage);
            resolve(message.cpuMicros);
          };
          messages.on('message', onMessage);
          const ask: ParentMessage = { cpuUsage: true };
          messages.send(ask, (error) => error && reject(error));
          child.exited.then((code) => reject(childFailure(entry, child, `exited (${code}) during the run`)));
        }),
    };
  } catch (error) {
    await child.stop();
    throw error;
  }
}
