import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AlertDeps, checkAlerts, createAlertMemory } from '../lib/alerts/monitor.ts';
import { alertChannels } from '../lib/alerts/notify.ts';
import { parseConfig } from '../lib/config.ts';
import { createDb, createPool, type Db } from '../lib/db/connection.ts';
import { runJob } from '../lib/jobs/runner.ts';
import type { JobDefinition } from '../lib/jobs/types.ts';
import { createLogger } from '../lib/logger.ts';
import { createStorage } from '../lib/storage.ts';
import { TEST_ENV } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase, withPort } from './support/database.ts';
import { startTestServer } from './support/node-server.ts';
import { spawnProject, waitFor } from './support/processes.ts';
import { startJsonReceiver } from './support/receivers.ts';
import { startTestS3, type TestS3 } from './support/s3.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';

// The alert engine against real databases, with the messages going to local receivers that speak
// the real protocols over HTTP: a Slack-style incoming webhook and a fake Telegram Bot API.

let failNext = false;
const flaky: JobDefinition = {
  name: 'flaky_sync',
  schedule: '*/5 * * * *',
  timeoutMs: 10_000,
  description: 'fails while failNext is set',
  async handler() {
    if (failNext) throw new Error('upstream answered 502');
    return { recordsProcessed: 1, message: 'ok' };
  },
};

describe.each(databaseKinds())('alerts on %s', (kind) => {
  let database: TestDatabase;
  let webhook: Awaited<ReturnType<typeof startJsonReceiver>>;
  let webhookFailures = 0;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    webhook = await startJsonReceiver(() =>
      webhookFailures-- > 0 ? { status: 500, body: { error: 'down' } } : { status: 200, body: { ok: true } },
    );
  });
  afterAll(async () => {
    await webhook?.close();
    await database?.drop();
  });

  const configFor = (env: Record<string, string> = {}) =>
    parseConfig({
      ...TEST_ENV,
      DATABASE_URL: database.url,
      ALERT_WEBHOOK_URL: `${webhook.url}/hooks/T000/B000/secret`,
      ALERT_AFTER_FAILURES: '3',
      ...env,
    });

  /** One replica's view: its own process memory, database handle and holder name. */
  const replica = (name: string, db: Db = database.db, env: Record<string, string> = {}, jobs = [flaky]) => {
    const config = configFor(env);
    const deps: AlertDeps = {
      db,
      config,
      storage: config.s3 ? createStorage(config.s3) : null,
      logger: createLogger('error', { test: name }),
      runtime: 'node',
      startedAt: Date.now(),
      holder: `test:${name}`,
      channels: alertChannels(config),
      jobs,
    };
    const memory = createAlertMemory();
    return { deps, check: () => checkAlerts(deps, memory) };
  };

  const runFlaky = (fail: boolean) => {
    failNext = fail;
    const config = configFor();
    return runJob(
      { db: database.db, config, storage: null, logger: createLogger('error'), runtime: 'node', holder: 'test:runner' },
      flaky,
      { kind: 'manual' },
    );
  };
  const texts = () => webhook.received.map((r) => String(r.body.text));
  const clearIncidents = async () => {
    await database.db.deleteFrom('alert_incidents').execute();
    await database.db.deleteFrom('cron_job_logs').execute();
    webhook.received.length = 0;
  };

  it('a job failing ALERT_AFTER_FAILURES times in a row alerts once, and its recovery once', async () => {
    await clearIncidents();
    const a = replica('a');
    await runFlaky(true);
    await runFlaky(true);
    expect((await a.check()).opened).toEqual([]);
    await runFlaky(true);

    expect((await a.check()).opened).toEqual(['job_failing:flaky_sync']);
    expect(texts()).toHaveLength(1);
    expect(texts()[0]).toMatch(
      /^🔴 Opsbase alert: Job flaky_sync failed 3 times in a row\. Last error: upstream answered 502/,
    );
    expect(webhook.received[0]?.path).toBe('/hooks/T000/B000/secret');

    // Still failing: no second message, from this process, a restarted one or another replica.
    await runFlaky(true);
    expect((await a.check()).opened).toEqual([]);
    expect((await replica('a-restarted').check()).opened).toEqual([]);
    expect((await replica('b').check()).opened).toEqual([]);
    expect(texts()).toHaveLength(1);

    await runFlaky(false);
    expect((await replica('b').check()).resolved).toEqual(['job_failing:flaky_sync']);
    expect(await a.check()).toMatchObject({ opened: [], resolved: [] });
    expect(texts()).toHaveLength(2);
    expect(texts()[1]).toMatch(/^✅ Opsbase resolved after .+: Job flaky_sync failed 3 times in a row/);

    const rows = await database.db.selectFrom('alert_incidents').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.resolved_at).not.toBeNull();
    expect(rows[0]?.open_notified_at).not.toBeNull();
    expect(rows[0]?.resolve_notified_at).not.toBeNull();
  });

  it('two replicas checking at the same moment send one message between them', async () => {
    await clearIncidents();
    for (let i = 0; i < 3; i++) await runFlaky(true);
    const results = await Promise.all(['r1', 'r2', 'r3'].map((name) => replica(name).check()));
    expect(results.flatMap((r) => r.opened)).toEqual(['job_failing:flaky_sync']);
    expect(texts()).toHaveLength(1);
  });

  it('a job nothing has triggered within its period plus grace alerts as late, once; a run resolves it', async () => {
    await clearIncidents();
    // Its last run was 2 hours ago; it runs every 5 minutes (grace: 5 minutes).
    await database.db
      .insertInto('cron_job_logs')
      .values({
        job_name: 'flaky_sync',
        status: 'success',
        trigger: 'schedule',
        started_at: sql<Date>`now() - interval '2 hours'`,
        finished_at: sql<Date>`now() - interval '2 hours'`,
        runtime: 'node',
        holder: 'test',
      })
      .execute();
    const a = replica('a');
    expect((await a.check()).opened).toEqual(['job_late:flaky_sync']);
    expect((await a.check()).opened).toEqual([]);
    expect(texts()).toHaveLength(1);
    expect(texts()[0]).toContain('Job flaky_sync is late: it has not run since');
    await runFlaky(false);
    expect((await a.check()).resolved).toEqual(['job_late:flaky_sync']);
    expect(texts()).toHaveLength(2);
  });

  it('a message no channel took is retried on the next check, then never repeated', async () => {
    await clearIncidents();
    for (let i = 0; i < 3; i++) await runFlaky(true);
    webhookFailures = 1;
    const a = replica('a');
    const first = await a.check();
    expect(first).toMatchObject({ opened: ['job_failing:flaky_sync'], undelivered: 1 });
    const row = await database.db.selectFrom('alert_incidents').selectAll().executeTakeFirstOrThrow();
    expect(row.open_notified_at).toBeNull();
    expect(row.notify_error).toBe('webhook: webhook answered HTTP 500');
    // The error names the channel and the status, never the webhook's secret URL.
    expect(row.notify_error).not.toContain('secret');

    expect((await a.check()).undelivered).toBe(0);
    expect((await a.check()).undelivered).toBe(0);
    expect(webhook.received.map((r) => r.body.text)).toEqual([texts()[0], texts()[0]]);
    expect(webhook.received).toHaveLength(2); // the failed attempt and the one that went through
  });

  describe('health', () => {
    let s3: TestS3;
    let s3Proxy: TcpProxy;
    let dbProxy: TcpProxy;
    let proxiedDb: Db;
    beforeAll(async () => {
      s3 = await startTestS3();
      s3Proxy = await startTcpProxy(s3.port);
      dbProxy = await startTcpProxy(database.port);
      proxiedDb = createDb(createPool(withPort(database.url, dbProxy.port), { max: 2, connectTimeoutMs: 1500 }));
    });
    afterAll(async () => {
      await proxiedDb?.destroy().catch(() => {});
      await dbProxy?.close();
      await s3Proxy?.close();
      await s3?.stop();
    });

    it('turning red (storage down) alerts once naming what is down; green again sends the recovery once', async () => {
      await clearIncidents();
      const a = replica('a', database.db, { ...s3.env, S3_ENDPOINT: `http://127.0.0.1:${s3Proxy.port}` }, []);
      expect((await a.check()).opened).toEqual([]);
      s3Proxy.setMode('refuse');
      expect((await a.check()).opened).toEqual(['health']);
      expect((await a.check()).opened).toEqual([]);
      expect(texts()).toHaveLength(1);
      expect(texts()[0]).toMatch(/^🔴 Opsbase alert: Health is red: storage is down/);
      s3Proxy.setMode('pass');
      expect((await a.check()).resolved).toEqual(['health']);
      expect(texts()).toHaveLength(2);
      expect(texts()[1]).toMatch(/^✅ Opsbase resolved after .+: Health is red: storage is down/);
    });

    const backupFinished = (id: string, hoursAgo: number) =>
      database.db
        .insertInto('backups')
        .values({
          id,
          status: 'complete',
          trigger: 'job',
          holder: 'test',
          started_at: sql<Date>`now() - make_interval(hours => ${hoursAgo})`,
          finished_at: sql<Date>`now() - make_interval(hours => ${hoursAgo})`,
        })
        .execute();

    it('the newest complete backup older than ALERT_BACKUP_MAX_AGE (26 h) alerts once; a fresh backup resolves it', async () => {
      await clearIncidents();
      await database.db.deleteFrom('backups').execute();
      const a = replica('a', database.db, s3.env, []);
      await backupFinished('2026-11-20T02-00-00Z', 25);
      expect((await a.check()).opened).toEqual([]);
      // A failed attempt since then does not count: only complete backups do.
      await database.db
        .insertInto('backups')
        .values({ id: '2026-11-21T02-00-00Z', status: 'failed', trigger: 'job', holder: 'test', error: 'disk full' })
        .execute();
      await database.db
        .updateTable('backups')
        .set({ finished_at: sql`now() - interval '27 hours'` })
        .where('status', '=', 'complete')
        .execute();
      expect((await a.check()).opened).toEqual(['backup_stale']);
      expect((await a.check()).opened).toEqual([]);
      expect(texts()).toHaveLength(1);
      expect(texts()[0]).toMatch(/^🔴 Opsbase alert: The newest complete backup is 1 d 3 h old .*the limit is 1 d 2 h/);
      await backupFinished('2026-11-22T02-00-00Z', 0);
      expect((await a.check()).resolved).toEqual(['backup_stale']);
      expect(texts()).toHaveLength(2);
      expect(texts()[1]).toMatch(/^✅ Opsbase resolved after .+: The newest complete backup is/);
    });

    it('no complete backup at all, longer than the limit after the schema was installed, alerts', async () => {
      await clearIncidents();
      await database.db.deleteFrom('backups').execute();
      // The default limit (26 h) has not passed since this test database was migrated.
      expect((await replica('a', database.db, s3.env, []).check()).opened).toEqual([]);
      const strict = replica('strict', database.db, { ...s3.env, ALERT_BACKUP_MAX_AGE: '1s' }, []);
      await waitFor(async () => (await strict.check()).opened.includes('backup_stale'), 10_000, 'the alert');
      expect(texts()[0]).toMatch(/No complete backup exists, .+ after the database was set up/);
      // Without object storage no backup can be made: the rule does not apply.
      await clearIncidents();
      expect((await replica('no-s3', database.db, { ALERT_BACKUP_MAX_AGE: '1s' }, []).check()).opened).toEqual([]);
    });

    it('an unreachable database alerts once per process, and its return once', async () => {
      await clearIncidents();
      const a = replica('a', proxiedDb, {}, []);
      expect((await a.check()).outcome).toBe('checked');
      dbProxy.setMode('refuse');
      expect(await a.check()).toMatchObject({ outcome: 'database_unreachable', opened: ['database'] });
      expect(await a.check()).toMatchObject({ outcome: 'database_unreachable', opened: [] });
      expect(texts()).toHaveLength(1);
      expect(texts()[0]).toMatch(/^🔴 Opsbase alert: Health is red: the database is unreachable/);
      dbProxy.setMode('pass');
      expect((await a.check()).outcome).toBe('checked');
      expect(texts()).toHaveLength(2);
      expect(texts()[1]).toMatch(/^✅ Opsbase resolved after .+: the database is reachable again/);
      expect((await a.check()).outcome).toBe('checked');
      expect(texts()).toHaveLength(2);
    });
  });

  it('goes to Telegram through the Bot API (a local fake), honouring a 429’s retry_after', async () => {
    await clearIncidents();
    const telegram = await startJsonReceiver((_request, index) =>
      index === 0
        ? {
            status: 429,
            body: {
              ok: false,
              error_code: 429,
              description: 'Too Many Requests: retry after 1',
              parameters: { retry_after: 1 },
            },
          }
        : { status: 200, body: { ok: true, result: { message_id: index, chat: { id: -100123 }, date: 0 } } },
    );
    try {
      for (let i = 0; i < 3; i++) await runFlaky(true);
      const a = replica('tg', database.db, {
        ALERT_WEBHOOK_URL: '',
        ALERT_TELEGRAM_CHAT_ID: '-100123',
        TELEGRAM_BOT_TOKEN: '123456:test-token',
        TELEGRAM_API_BASE: telegram.url,
      });
      expect(a.deps.channels.map((c) => c.name)).toEqual(['telegram']);
      expect(await a.check()).toMatchObject({ opened: ['job_failing:flaky_sync'], undelivered: 0 });
      expect(telegram.received).toHaveLength(2);
      const [limited, sent] = telegram.received;
      expect(sent?.path).toBe('/bot123456:test-token/sendMessage');
      expect(sent?.body).toMatchObject({ chat_id: '-100123' });
      expect(String(sent?.body.text)).toContain('Job flaky_sync failed 3 times in a row');
      // It waited at least the second Telegram asked for.
      expect((sent?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(1000);
      expect(webhook.received).toHaveLength(0);
    } finally {
      await telegram.close();
    }
  });

  it('`opsbase alerts test` reaches the webhook; `alerts check` opens what is due; `alerts list` shows it', async () => {
    await clearIncidents();
    const env = { ...TEST_ENV, DATABASE_URL: database.url, ALERT_WEBHOOK_URL: webhook.url, ALERT_AFTER_FAILURES: '1' };
    const test = spawnProject(['bin/opsbase.mjs', 'alerts', 'test'], env);
    expect(await test.exited, test.output()).toBe(0);
    expect(test.output()).toContain('sent to 1 of 1 channel(s): webhook');
    expect(texts()[0]).toMatch(/^🧪 Opsbase test alert from /);

    // A registry job whose last run failed (ALERT_AFTER_FAILURES=1).
    await database.db
      .insertInto('cron_job_logs')
      .values({
        job_name: 'log_cleanup',
        status: 'error',
        trigger: 'manual',
        error: 'disk full',
        runtime: 'node',
        holder: 't',
      })
      .execute();
    const check = spawnProject(['bin/opsbase.mjs', 'alerts', 'check'], env);
    expect(await check.exited, check.output()).toBe(0);
    expect(check.output()).toContain('checked: opened job_failing:log_cleanup');
    expect(texts()[1]).toContain('Job log_cleanup failed its last run. Last error: disk full');
    const list = spawnProject(['bin/opsbase.mjs', 'alerts', 'list'], env);
    expect(await list.exited, list.output()).toBe(0);
    expect(list.output()).toMatch(/OPEN\s+job_failing:log_cleanup\s+opened/);

    const none = spawnProject(['bin/opsbase.mjs', 'alerts', 'test'], { ...env, ALERT_WEBHOOK_URL: '' });
    expect(await none.exited).toBe(1);
    expect(none.output()).toContain('no alert channel');
    // Four CLI processes, each starting tsx: seconds apiece on a busy machine.
  }, 120_000);

  it('the Node server runs the monitor: a dependency going down reaches the webhook', async () => {
    await clearIncidents();
    const server = await startTestServer({
      DATABASE_URL: database.url,
      ALERT_WEBHOOK_URL: webhook.url,
      ALERT_CHECK_INTERVAL: '1',
      // Storage that is not there: health is red from the start.
      S3_ENDPOINT: 'http://127.0.0.1:9',
      HEALTH_TIMEOUT_MS: '500',
    });
    try {
      await waitFor(async () => texts().length > 0, 20_000, 'the monitor’s alert');
      expect(texts()[0]).toMatch(/Health is red: storage is down/);
    } finally {
      await server.close();
    }
  });
});
