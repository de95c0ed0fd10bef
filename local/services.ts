import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type RunningService = { port: number; url: string; child: ChildProcess; stop(): Promise<void> };

const SERVICE_MAIN = fileURLToPath(new URL('./service-main.ts', import.meta.url));

/** PGlite + pglite-socket in a child process, so the database has its own event loop. */
export function spawnEmbeddedPostgres(options: { dataDir: string; port: number; host?: string }) {
  return spawnService({ kind: 'postgres', ...options }, []);
}

/** s3rver in a child process under --openssl-legacy-provider (see local/embedded-s3.ts). */
export function spawnEmbeddedS3(options: { directory: string; port: number; bucket: string; host?: string }) {
  return spawnService({ kind: 's3', ...options }, ['--openssl-legacy-provider']);
}

function spawnService(request: Record<string, unknown>, nodeFlags: string[]): Promise<RunningService> {
  const child = fork(SERVICE_MAIN, [JSON.stringify(request)], {
    execArgv: [...nodeFlags, '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    // A Ctrl-C in the terminal reaches the whole process group; the parent decides the order.
    detached: false,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let exited: Promise<void> | undefined;
  const waitExit = () =>
    (exited ??= new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    }));

  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`${request.kind} service exited with code ${code} before it was ready:\n${stderr.trim()}`));
    child.once('exit', onExit);
    child.once(
      'message',
      (message: { ready: boolean; url?: string; endpoint?: string; port: number; error?: string }) => {
        child.off('exit', onExit);
        if (!message.ready) {
          reject(new Error(message.error ?? `${request.kind} service failed to start`));
          return;
        }
        resolve({
          port: message.port,
          url: message.url ?? message.endpoint ?? '',
          child,
          async stop() {
            if (child.exitCode === null && child.signalCode === null) {
              child.kill('SIGTERM');
              const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
              await waitExit();
              clearTimeout(timer);
            }
          },
        });
      },
    );
  });
}

export type SupervisedService = { url: string; port: number; stop(): Promise<void> };

export type SupervisorEvents = {
  /** The child exited while nobody was stopping it; the next start is in `restartInMs`. */
  exited(how: { code: number | null; signal: NodeJS.Signals | null }, restartInMs: number): void;
  restarted(port: number): void;
  restartFailed(error: Error): void;
};

/** The child lived this long: its next crash starts the back-off from the beginning. */
const STABLE_AFTER_MS = 30_000;
const FIRST_RESTART_MS = 500;
const MAX_RESTART_MS = 30_000;

/**
 * The embedded Postgres of a server started without DATABASE_URL: PGlite in a child process, as
 * the dev stack runs it, so its statements (each holds the thread running it for milliseconds)
 * never block the server's event loop. When the child dies it is started again on the same port,
 * after 0.5 s doubling up to 30 s while it keeps failing; the server's pools reconnect by
 * themselves and health shows the database down in between.
 */
export async function superviseEmbeddedPostgres(
  options: { dataDir: string; port: number; host?: string },
  events: SupervisorEvents,
): Promise<SupervisedService> {
  let current = await spawnEmbeddedPostgres(options);
  const { port, url } = current;
  let stopping = false;
  let restarting: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let delay = FIRST_RESTART_MS;

  const watch = (service: RunningService) => {
    const startedAt = Date.now();
    service.child.once('exit', (code, signal) => {
      if (stopping) return;
      if (Date.now() - startedAt >= STABLE_AFTER_MS) delay = FIRST_RESTART_MS;
      restarting = restart({ code, signal });
    });
  };
  const pause = (ms: number) =>
    new Promise<void>((done) => {
      const timer = setTimeout(done, ms);
      wake = () => {
        clearTimeout(timer);
        done();
      };
    });
  const restart = async (how: { code: number | null; signal: NodeJS.Signals | null }) => {
    events.exited(how, delay);
    while (!stopping) {
      await pause(delay);
      delay = Math.min(delay * 2, MAX_RESTART_MS);
      if (stopping) return;
      try {
        current = await spawnEmbeddedPostgres({ ...options, port });
      } catch (error) {
        events.restartFailed(error as Error);
        continue;
      }
      watch(current);
      events.restarted(port);
      return;
    }
  };
  watch(current);

  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        wake?.();
        await restarting;
        await current.stop();
      })();
      return stopped;
    },
  };
}
