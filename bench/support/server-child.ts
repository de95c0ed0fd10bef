import { childFailure, spawnTsChild, type TsChild } from './child.ts';
import type { ParentMessage, ServerMessage } from './ipc.ts';

const READY_TIMEOUT_MS = 120_000;

export type ServerChild = TsChild & {
  port: number;
  url: string;
  /** CPU time the server process has used so far, in microseconds (asked over IPC). */
  cpuMicros(): Promise<number>;
  /** Sends a message over IPC and waits for the answer `pick` recognises. */
  ask<T>(message: ParentMessage, pick: (answer: ServerMessage) => T | undefined): Promise<T>;
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
    /** Sends `message` and resolves with the first answer `pick` takes (returns other than undefined). */
    const ask = <T>(message: ParentMessage, pick: (answer: ServerMessage) => T | undefined): Promise<T> =>
      new Promise((resolve, reject) => {
        const onMessage = (answer: ServerMessage) => {
          const picked = pick(answer);
          if (picked === undefined) return;
          messages.off('message', onMessage);
          resolve(picked);
        };
        messages.on('message', onMessage);
        messages.send(message, (error) => error && reject(error));
        child.exited.then((code) => reject(childFailure(entry, child, `exited (${code}) during the run`)));
      });
    return {
      ...child,
      port,
      url: `http://127.0.0.1:${port}`,
      cpuMicros: () => ask({ cpuUsage: true }, (message) => ('cpuMicros' in message ? message.cpuMicros : undefined)),
      ask,
    };
  } catch (error) {
    await child.stop();
    throw error;
  }
}
