import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ENV } from '../support/app.ts';
import { browserUnavailable, launchBrowser } from '../support/browser.ts';
import { cookieAttributes, DashboardClient } from '../support/dashboard-client.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/database.ts';
import { waitFor } from '../support/processes.ts';
import { startTestS3, type TestS3 } from '../support/s3.ts';
import { seedUser } from '../support/users.ts';
import { startWorker, type TestWorker } from '../support/worker.ts';

// The dashboard from the same bundle under workerd (wrangler's esbuild compiles the JSX there):
// login, the Overview and the API Logs, over HTTP and in Chromium.

const noBrowser = browserUnavailable();

describe.each(databaseKinds())('the dashboard under workerd, Postgres %s', (kind) => {
  let database: TestDatabase;
  let s3: TestS3;
  let worker: TestWorker;
  let admin: Awaited<ReturnType<typeof seedUser>>;

  beforeAll(async () => {
    [database, s3] = await Promise.all([createTestDatabase(kind), startTestS3()]);
    worker = await startWorker({ ...TEST_ENV, DATABASE_URL: database.url, ...s3.env });
    admin = await seedUser(database.db, 'admin', { name: 'Wren Worker' });
  });
  afterAll(async () => {
    await worker?.dispose();
    await Promise.all([database?.drop(), s3?.stop()]);
  });

  it('logs in, shows the Overview and the API Logs, refuses a cross-site POST', async () => {
    const client = new DashboardClient(worker.url);
    expect((await client.get('/admin/system')).headers.get('location')).toMatch(/^\/admin\/login/);
    const login = await client.login(admin.email, admin.password);
    expect(login.status).toBe(303);
    expect(cookieAttributes(login, 'opsbase_session')).toMatchObject({ httponly: true, samesite: 'Strict' });

    const overview = await client.get('/admin/system');
    expect(overview.status).toBe(200);
    const html = await overview.text();
    expect(html).toMatch(/data-dependency="database" data-status="up"/);
    expect(html).toMatch(/data-dependency="storage" data-status="up"/);
    expect(html).toContain('Not available: a Worker runs on Cloudflare machines');
    expect(html).toContain('on workerd');

    // Workers write request logs in waitUntil: wait for them to show on the page.
    for (let i = 0; i < 3; i++) await worker.fetch(`/api/workerd-dashboard-miss-${i}`);
    const logs = await waitFor(
      async () => {
        const page = await (await client.get('/admin/system/logs?status=404&range=1h')).text();
        return (page.match(/data-log-id=/g) ?? []).length >= 3 && page;
      },
      15_000,
      'three 404s on the logs page',
    );
    expect(logs).toContain('/api/workerd-dashboard-miss-2');

    const refused = await client.post('/admin/system/jobs/log_cleanup/run', {}, { origin: 'https://evil.example' });
    expect(refused.status).toBe(403);
    expect((await client.get('/admin/system/logs?status=6xx')).status).toBe(400);
    expect((await client.get('/admin/assets/dashboard.js')).status).toBe(200);
  });

  it.skipIf(noBrowser !== null && !process.env.CI)('works in Chromium: login, Overview, API Logs', async () => {
    if (noBrowser) throw new Error(`CI must run the browser suites: ${noBrowser}`);
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      page.setDefaultTimeout(15_000);
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${worker.url}/admin/system/logs`);
      await page.getByLabel('Email').fill(admin.email);
      await page.getByLabel('Password').fill(admin.password);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL(`${worker.url}/admin/system/logs`);
      expect(await page.locator('tr[data-log-id]').count()).toBeGreaterThan(0);
      await page.getByRole('link', { name: 'Overview' }).click();
      await page.waitForURL(`${worker.url}/admin/system`);
      expect(await page.locator('[data-dependency=database]').getAttribute('data-status')).toBe('up');
      expect(await page.locator('[data-zone]').textContent()).not.toBe('');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
