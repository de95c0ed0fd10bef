import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerChild, startServerChild } from '../bench/support/server-child.ts';
import { scratchDir } from './support/paths.ts';
import { waitFor } from './support/processes.ts';

// The logging bench measures one bundle process with request logging switched off and on
// between rounds (bench/servers/bundle.ts answers requestLogExclude over IPC). The comparison is
// only worth something if the switch really turns the log on and off in the running process.
describe('the bench bundle switches request logging over IPC', () => {
  const dataDir = scratchDir('bench-switch');
  const token = 'bench-switch-metrics-token-0123456789';
  let server: ServerChild;

  const switchTo = (prefixes: string[]) =>
    server.ask({ requestLogExclude: prefixes }, (answer) =>
      'requestLogExclude' in answer ? answer.requestLogExclude : undefined,
    );
  const writer = async () => {
    const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text)?.[1]);
    return { written: value('opsbase_request_log_written_total'), backlog: value('opsbase_request_log_backlog') };
  };
  /**
   * Rows written once the writer has nothing left: the buffer empty, and the count the same over
   * a flush interval (500 ms), so no batch was on its way to the database when it was read.
   */
  const written = () =>
    waitFor(
      async () => {
        const before = await writer();
        if (before.backlog !== 0) return false;
        await new Promise((resolve) => setTimeout(resolve, 600));
        const after = await writer();
        return after.backlog === 0 && after.written === before.written && { count: after.written };
      },
      30_000,
      'the request log writer to settle',
    ).then(({ count }) => count);
  const health = async () => expect((await fetch(`${server.url}/api/health`)).status).toBe(200);

  beforeAll(async () => {
    server = await startServerChild('bench/servers/bundle.ts', {
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOCAL_PG_PORT: '0',
      DATABASE_URL: '',
      JWT_SECRET: 'bench-switch-jwt-secret-0123456789abcdef',
      METRICS_TOKEN: token,
      REQUEST_LOG_EXCLUDE: '/api',
      LOG_LEVEL: 'warn',
    });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('logs nothing while /api is excluded, every request once the exclusion is lifted, and nothing again after', async () => {
    await health();
    await health();
    expect(await written()).toBe(0);

    expect(await switchTo(['/api/none'])).toEqual(['/api/none']);
    await health();
    await health();
    await health();
    expect(await written()).toBe(3);

    expect(await switchTo(['/api'])).toEqual(['/api']);
    await health();
    expect(await written()).toBe(3);
  });
});
