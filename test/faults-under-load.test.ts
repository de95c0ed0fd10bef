import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { percentile } from '../bench/support/stats.ts';
import { createTestDatabase, databaseKinds, type TestDatabase, withPort } from './support/database.ts';
import { envelopeProblems, errorCode, readAnswer } from './support/envelope.ts';
import { type LoadRequest, type LoadSample, startLoad } from './support/load.ts';
import { type ServerProcess, startServerProcess } from './support/node-server.ts';
import { waitFor } from './support/processes.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';
import { seedUser } from './support/users.ts';

// The real Node server in its own process, a TCP proxy the test controls between it and
// Postgres, and concurrent authenticated requests. The database is cut two ways (connections
// reset; a silent partition where nothing is closed) and restored, with the process left running.
// Contract: health 503 within 5 s of the cut; API requests answer 503 with the envelope, fast,
// and none hangs past its timeout; the request-log buffer stays bounded and counts its drops;
// within 5 s of the restore everything answers again, and the buffered log rows are written.

const CONTRACT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 1_000;
const QUERY_TIMEOUT_MS = 2_000;
/** No request may take longer: a connect timeout plus a query timeout, plus slack for a loaded machine. */
const REQUEST_TIMEOUT_MS = CONNECT_TIMEOUT_MS + QUERY_TIMEOUT_MS + 5_000;
const LOG_BUFFER_MAX = 200;

type Figures = Record<string, number | string>;
const figures: Figures[] = [];

describe.each(databaseKinds())('the database cut and restored under load (%s)', (kind) => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let server: ServerProcess;
  let agentToken: string;
  let adminToken: string;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    proxy = await startTcpProxy(database.port);
    server = await startServerProcess({
      DATABASE_URL: withPort(database.url, proxy.port),
      DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
      REQUEST_LOG_BUFFER_MAX: String(LOG_BUFFER_MAX),
    });
    const login = async (role: 'agent' | 'admin') => {
      const user = await seedUser(database.db, role);
      const res = await server.request('/api/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: user.email, password: user.password }),
      });
      return ((await res.json()) as { accessToken: string }).accessToken;
    };
    agentToken = await login('agent');
    adminToken = await login('admin');
  });
  afterAll(async () => {
    await server?.stop();
    await proxy?.close();
    await database?.drop();
  });

  const get = (path: string, token: string) => (signal?: AbortSignal) =>
    server.request(path, { headers: { authorization: `Bearer ${token}` }, ...(signal ? { signal } : {}) });
  /** Requests that need the database: reads, an admin view and a write. */
  const databaseRequests = (): LoadRequest[] => [
    { name: 'GET /api/auth/me', send: get('/api/auth/me', agentToken) },
    { name: 'GET /api/users', send: get('/api/users?limit=5', adminToken) },
    { name: 'GET /api/admin/system/jobs', send: get('/api/admin/system/jobs', adminToken) },
    {
      name: 'PATCH /api/auth/me',
      send: (signal) =>
        server.request('/api/auth/me', {
          method: 'PATCH',
          headers: { authorization: `Bearer ${agentToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `Agent ${Date.now()}` }),
          signal,
        }),
    },
  ];
  /** Requests answered without the database (an unknown route: 404), each still a request-log row. */
  const requestsWithoutDatabase = (): LoadRequest[] => [
    { name: 'GET /api/no-such-route', send: get('/api/no-such-route', agentToken) },
  ];
  const health = async () => {
    const res = await server.request('/api/health', { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    return {
      status: res.status,
      body: (await res.json()) as { requestLogs: { backlog: number; dropped: number } },
    };
  };
  const me = () => readAnswer(get('/api/auth/me', agentToken)(AbortSignal.timeout(REQUEST_TIMEOUT_MS)));

  /** Polls until the condition holds; fails if it did not by `from` + CONTRACT_MS. Returns ms since `from`. */
  async function withinContract(from: number, what: string, condition: () => Promise<boolean>): Promise<number> {
    const deadline = from + CONTRACT_MS;
    for (;;) {
      if (await condition().catch(() => false)) return Date.now() - from;
      if (Date.now() > deadline) throw new Error(`${what} did not happen within ${CONTRACT_MS} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** What is wrong with a sample: no answer in time, a 5xx other than 503, or a refusal without the envelope. */
  function sampleProblems(samples: LoadSample[]): string[] {
    return samples
      .filter(
        (s) =>
          typeof s.status !== 'number' ||
          (s.status >= 500 && s.status !== 503) ||
          s.problems.length > 0 ||
          (s.status === 503 && s.code !== 'SERVICE_UNAVAILABLE'),
      )
      .slice(0, 10)
      .map(
        (s) => `${s.name}: ${s.status} ${s.code ?? ''} after ${Math.round(s.latencyMs)} ms ${s.problems.join('; ')}`,
      );
  }

  it('answers under load before any cut', async () => {
    const load = startLoad({ concurrency: 8, timeoutMs: REQUEST_TIMEOUT_MS, requests: databaseRequests() });
    await waitFor(async () => load.samples.length >= 100, 60_000, '100 answers');
    const samples = await load.stop();
    expect(samples.filter((s) => s.status !== 200).map((s) => `${s.name}: ${s.status}`)).toEqual([]);
  });

  it.each(['refuse', 'blackhole'] as const)(
    'cut (%s): 503 within 5 s, every answer in time and in the envelope, a bounded log buffer; recovered within 5 s of the restore',
    async (mode) => {
      const withDatabase = startLoad({ concurrency: 8, timeoutMs: REQUEST_TIMEOUT_MS, requests: databaseRequests() });
      const without = startLoad({ concurrency: 2, timeoutMs: REQUEST_TIMEOUT_MS, requests: requestsWithoutDatabase() });
      try {
        await waitFor(async () => withDatabase.samples.length >= 50, 60_000, 'load under way');
        const droppedBefore = (await health()).body.requestLogs.dropped;
        const flushFailures = () => server.output().split('request log flush failed').length - 1;
        const flushFailuresBefore = flushFailures();

        const cutAt = Date.now();
        proxy.setMode(mode);
        const healthDownMs = await withinContract(cutAt, 'health 503', async () => (await health()).status === 503);
        const apiDownMs = await withinContract(cutAt, 'an API request answered 503 SERVICE_UNAVAILABLE', async () => {
          const answer = await me();
          return (
            answer.status === 503 &&
            errorCode(answer) === 'SERVICE_UNAVAILABLE' &&
            envelopeProblems(answer).length === 0
          );
        });
        // The buffer keeps the newest rows and counts what it dropped.
        const buffered = await waitFor(
          async () => {
            const { body } = await health();
            return body.requestLogs.dropped > droppedBefore && body.requestLogs;
          },
          60_000,
          'request-log rows dropped while the database is away',
        );
        expect(buffered.backlog).toBeLessThanOrEqual(LOG_BUFFER_MAX);
        // And the load itself is being refused, not just the probes.
        await waitFor(
          async () => withDatabase.samples.filter((s) => s.startedAt >= cutAt && s.status === 503).length >= 20,
          60_000,
          'twenty requests of the load refused with 503',
        );
        // The writer says so itself: a flush fails within its connect or query timeout. (Restoring
        // before that would let a flush waiting on the cut simply finish.)
        await waitFor(async () => flushFailures() > flushFailuresBefore, 30_000, 'the writer logging a failed flush');

        const restoredAt = Date.now();
        proxy.setMode('pass');
        const healthUpMs = await withinContract(restoredAt, 'health 200', async () => (await health()).status === 200);
        const apiUpMs = await withinContract(
          restoredAt,
          'an API request answered 200',
          async () => (await me()).status === 200,
        );

        const samples = [...(await withDatabase.stop()), ...(await without.stop())];
        expect(sampleProblems(samples)).toEqual([]);
        // Requests sent after the cut and answered before the restore.
        const duringCut = samples.filter((s) => s.startedAt >= cutAt && s.startedAt + s.latencyMs < restoredAt);
        const refused = duringCut.filter((s) => s.status === 503).map((s) => s.latencyMs);
        // Requests that need the database did not succeed without it.
        expect(duringCut.filter((s) => s.status === 200 && s.name !== 'GET /api/no-such-route').length).toBe(0);

        // The writer resumed by itself: the buffer drained and rows from after the restore are
        // in the table. (Rows from the cut may be among those dropped: the buffer keeps the newest.)
        // (A backlog of 0 can be read while the last batch's insert is still on its way: the rows
        // are waited for, not looked for once.)
        await waitFor(async () => (await health()).body.requestLogs.backlog === 0, 30_000, 'the log buffer drained');
        await waitFor(
          async () => {
            const written = await sql<{ n: number }>`select count(*)::int as n from request_logs
              where created_at > ${new Date(restoredAt)}`.execute(database.db);
            return (written.rows[0]?.n ?? 0) > 0;
          },
          30_000,
          'request log rows from after the restore',
        );

        const sorted = Float64Array.from(refused).sort();
        figures.push({
          database: kind,
          cut: mode,
          'health 503 after (ms)': healthDownMs,
          'API 503 after (ms)': apiDownMs,
          '503 latency p50 / max (ms)': `${Math.round(percentile(sorted, 50))} / ${Math.round(sorted.at(-1) ?? 0)}`,
          'log rows dropped': (await health()).body.requestLogs.dropped - droppedBefore,
          'health 200 after restore (ms)': healthUpMs,
          'API 200 after restore (ms)': apiUpMs,
        });
      } finally {
        proxy.setMode('pass');
        await Promise.all([withDatabase.stop(), without.stop()]);
      }
    },
    120_000,
  );

  it('logged the outage and no unexpected exception', () => {
    const lines = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: string; msg: string });
    expect(lines.some((l) => l.msg.startsWith('request log flush failed'))).toBe(true);
    expect(lines.filter((l) => l.level === 'error' && l.msg === 'request failed')).toEqual([]);
  });
});

afterAll(() => {
  // The measured figures, for the README's Reliability section.
  if (figures.length > 0) console.table(figures);
});
