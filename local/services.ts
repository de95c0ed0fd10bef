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
