import { startNodeServer } from '../../functions/node.ts';
import { signAccessToken } from '../../lib/auth/tokens.ts';
import { parseConfig } from '../../lib/config.ts';
import { createLogger, type LogLevel } from '../../lib/logger.ts';
import type { Role } from '../../schema/database.ts';
import { TEST_ENV } from './app.ts';
import { spawnProject } from './processes.ts';

export type LogEntry = { level: LogLevel; msg: string } & Record<string, unknown>;

/**
 * The bundle on a real listening Node server (startNodeServer), on loopback and a free port.
 * The peer of every request is 127.0.0.1; with TRUSTED_PROXIES including it, X-Forwarded-For
 * stands in for client addresses.
 */
export async function startTestServer(env: Record<string, string | undefined>) {
  const config = parseConfig({ ...TEST_ENV, HOST: '127.0.0.1', PORT: '0', MIGRATE_ON_START: 'false', ...env });
  const logs: LogEntry[] = [];
  // Kept for the tests to read rather than printed: several suites provoke errors on purpose.
  const logger = createLogger('warn', {}, (_level, line) => logs.push(JSON.parse(line)));
  const server = await startNodeServer(config, { logger });
  const request = (path: string, { from, ...init }: RequestInit & { from?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (from) headers.set('x-forwarded-for', from);
    return fetch(`${server.url}${path}`, { ...init, headers });
  };
  return {
    ...server,
    /** Everything the server logged at warn and above. */
    logs,
    /** fetch against the server; `from` is sent as X-Forwarded-For (the client address a proxy saw). */
    request,
    /** POST /api/auth/login from a client address. */
    async login(from: string, email: string, password: string) {
      const res = await request('/api/auth/login', {
        method: 'POST',
        from,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
      return { status: res.status, headers: res.headers, body: await res.json() };
    },
    /** An access token for a user, signed with the server's settings: no login, nothing counted. */
    tokenFor: (user: { id: string; role: Role }) =>
      signAccessToken(config.auth.tokens, { userId: user.id, role: user.role }),
  };
}

export type TestServer = Awaited<ReturnType<typeof startTestServer>>;

/**
 * The Node entry (functions/node.ts) in a child process of its own, as `npm start` runs it, on
 * loopback and a free port; resolves once it listens. Its stdout and stderr are kept.
 */
export async function startServerProcess(env: Record<string, string | undefined>) {
  const spawned = spawnProject(['--import', 'tsx', 'functions/node.ts'], {
    ...TEST_ENV,
    HOST: '127.0.0.1',
    PORT: '0',
    MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'info',
    ...env,
  });
  let url: string;
  try {
    url = (await spawned.waitForOutput(/"msg":"listening".*?"url":"(http:\/\/[^"]+)"/))[1] as string;
  } catch (error) {
    spawned.child.kill('SIGKILL');
    throw error;
  }
  return {
    url,
    child: spawned.child,
    /** Everything the process printed so far. */
    output: spawned.output,
    exited: spawned.exited,
    request: (path: string, init?: RequestInit) => fetch(`${url}${path}`, init),
    /** SIGTERM, then wait for the exit (a clean shutdown drains in-flight work). */
    async stop() {
      if (spawned.child.exitCode === null && spawned.child.signalCode === null) spawned.child.kill('SIGTERM');
      return spawned.exited;
    },
  };
}

export type ServerProcess = Awaited<ReturnType<typeof startServerProcess>>;
