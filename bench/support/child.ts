import { type ChildProcess, spawn } from 'node:child_process';
import { onCleanup } from './cleanup.ts';
import { ROOT } from './paths.ts';

const STOP_GRACE_MS = 10_000;
const KEPT_OUTPUT_CHARS = 8_000;

export type TsChild = {
  process: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string>;
  /** The tail of its stdout and stderr, for error messages when it fails to start. */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within the grace period. */
  stop(): Promise<number | string>;
};

/**
 * Runs `node --import tsx <entry>` from the project root, as `npm start` does. Output is kept
 * (not shown) so a child that fails to start can say why; it is always drained so a chatty
 * child never blocks on a full pipe.
 */
export function spawnTsChild(
  entry: string,
  options: { env: NodeJS.ProcessEnv; ipc?: boolean; args?: string[] },
): TsChild {
  return spawnNodeChild(['--import', 'tsx', entry, ...(options.args ?? [])], options);
}

/** Runs `node <argv>` from the project root, e.g. `bin/opsbase.mjs backup create` as npx would. */
export function spawnNodeChild(argv: string[], options: { env: NodeJS.ProcessEnv; ipc?: boolean }): TsChild {
  const child = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: options.env,
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-KEPT_OUTPUT_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', (error) => {
      keep(Buffer.from(`\nspawn failed: ${error.message}`));
      resolve('spawn-error');
    });
  });

  let stopping: Promise<number | string> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      forget();
      return exited;
    })();
    return stopping;
  };
  const forget = onCleanup(stop);

  return { process: child, exited, output: () => output, stop };
}

/** An error for a child that did not come up, with what it printed. */
export function childFailure(what: string, child: TsChild, reason: string): Error {
  const printed = child.output().trim();
  return new Error(`${what} ${reason}${printed ? `; its output:\n${printed}` : ' (it printed nothing)'}`);
}
