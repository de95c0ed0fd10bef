import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { ROOT } from './paths.ts';

/**
 * Ports for the suites' children, below Linux's ephemeral range (32768-60999), which is where a
 * bind to port 0 or an outgoing connection anywhere on the machine takes its port: a port handed
 * out there could be taken by another suite between this check and the child's own bind (it
 * happened: both cluster workers found theirs in use). Each Vitest worker (VITEST_POOL_ID) has a
 * block of its own, so suites running side by side never draw the same one.
 */
const PORT_BLOCKS_FROM = 20_000;
const PORT_BLOCK = 1_000;
/** Where the next draw starts in this worker's block: a random start, so a suite that follows another in the same worker does not retry its ports first. */
let nextInBlock = Math.floor(Math.random() * PORT_BLOCK);

/** A loopback port that was free a moment ago and that no other suite is handed meanwhile. */
export async function freePort(): Promise<number> {
  const block = PORT_BLOCKS_FROM + (Number(process.env.VITEST_POOL_ID ?? 0) % 12) * PORT_BLOCK;
  for (let tries = 0; tries < PORT_BLOCK; tries++) {
    const port = block + (nextInBlock++ % PORT_BLOCK);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in ${block}-${block + PORT_BLOCK - 1}`);
}

function bindable(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export type Spawned = {
  child: ChildProcess;
  /** stdout and stderr together, in arrival order. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  /** Resolves once the process has exited and its output has been read to the end. */
  finished: Promise<{ code: number | string; stdout: string; stderr: string }>;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
};

export type SpawnOptions = {
  /** Working directory; default the project root. A scratch one keeps a developer's ./.env out. */
  cwd?: string;
  /** The program; default this Node. */
  command?: string;
  /** Only PATH, HOME and `env` reach the child, none of this process's other variables. */
  isolatedEnv?: boolean;
};

/** Runs a command (Node from the project root unless told otherwise), capturing stdout and stderr. */
export function spawnProject(
  args: string[],
  env: Record<string, string | undefined>,
  options: SpawnOptions = {},
): Spawned {
  const base = options.isolatedEnv ? { PATH: process.env.PATH, HOME: process.env.HOME } : process.env;
  const child = spawn(options.command ?? process.execPath, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...base, ...env },
    stdio: 'pipe',
  });
  let output = '';
  const streams = { stdout: '', stderr: '' };
  const listeners = new Set<() => void>();
  for (const name of ['stdout', 'stderr'] as const) {
    child[name].on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      streams[name] += text;
      output += text;
      for (const listener of listeners) listener();
    });
  }
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const listener of listeners) listener();
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  const finished = new Promise<{ code: number | string; stdout: string; stderr: string }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? signal ?? 'unknown', ...streams }));
  });
  return {
    child,
    output: () => output,
    stdout: () => streams.stdout,
    stderr: () => streams.stderr,
    exited,
    finished,
    waitForOutput(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = output.match(pattern);
          if (match) {
            cleanup();
            resolve(match);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            cleanup();
            reject(new Error(`process exited before printing ${pattern}:\n${output}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern}:\n${output}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/** Polls until fn resolves truthy (a condition, not a fixed sleep). */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}
