import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appFor } from './support/app.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { type Answer, readAnswer } from './support/envelope.ts';
import { fillPath, readOperations, samplePathValue } from './support/openapi-operations.ts';
import { postJson, seedUser } from './support/users.ts';

// Security headers on every kind of answer (successes of every GET operation in the OpenAPI
// document, the envelope's refusals, the docs), a Content-Security-Policy that a JSON API and
// Swagger UI can live with, and flags on every cookie any of those answers sets.

/** What hono's secureHeaders sends, and the API's own Content-Security-Policy. */
const EXPECTED: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=15552000; includeSubDomains',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
  'origin-agent-cluster': '?1',
};
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

describe('security headers and cookies', () => {
  let database: TestDatabase;
  let harness: ReturnType<typeof appFor>;
  const answers: [string, Answer][] = [];

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    harness = appFor({ DATABASE_URL: database.url, BODY_LIMIT: '1kb', CRON_SECRET: 'headers-cron-secret-0123456789' });
    const admin = await seedUser(database.db, 'admin');
    const login = await postJson(harness.app, '/api/auth/login', { email: admin.email, password: admin.password });
    answers.push(['POST /api/auth/login', { status: login.status, headers: login.headers, text: '' }]);
    const token = login.body.accessToken as string;
    const ask = (method: string, path: string, init: RequestInit = {}) =>
      readAnswer(harness.app.request(path, { method, ...init }));
    for (const op of (await readOperations(harness.app)).filter((o) => o.method === 'GET')) {
      const path = fillPath(op, (p) => samplePathValue(p, admin.id));
      answers.push([op.key, await ask('GET', path, { headers: { authorization: `Bearer ${token}` } })]);
    }
    answers.push(
      ['401', await ask('GET', '/api/auth/me')],
      ['404', await ask('GET', '/api/no-such-route')],
      ['405', await ask('DELETE', '/api/health')],
      ['400', await ask('POST', '/api/auth/login', { headers: { 'content-type': 'application/json' }, body: '{' })],
      [
        '413',
        await ask('POST', '/api/auth/login', {
          headers: { 'content-type': 'application/json' },
          body: 'x'.repeat(4096),
        }),
      ],
    );
  });
  afterAll(async () => {
    await harness?.close();
    await database?.drop();
  });

  it('every answer carries the security headers and reveals no server software', () => {
    const problems = answers.flatMap(([name, answer]) => [
      ...Object.entries(EXPECTED)
        .filter(([header, value]) => answer.headers.get(header) !== value)
        .map(([header]) => `${name}: ${header} is ${answer.headers.get(header)}`),
      ...['x-powered-by', 'server'].filter((h) => answer.headers.has(h)).map((h) => `${name}: sends ${h}`),
    ]);
    expect(answers.length).toBeGreaterThan(8);
    expect(problems).toEqual([]);
  });

  it("API answers forbid every source: Content-Security-Policy default-src 'none'", () => {
    const wrong = answers
      .filter(([, answer]) => answer.headers.get('content-security-policy') !== API_CSP)
      .map(([name, answer]) => `${name}: ${answer.headers.get('content-security-policy')}`);
    expect(wrong).toEqual([]);
  });

  it("the docs page keeps its own policy, and Swagger UI needs nothing it forbids: scripts and styles from 'self', no inline script", async () => {
    const page = await readAnswer(harness.app.request('/api/docs'));
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*(unsafe-inline|unsafe-eval|https?:)/);
    expect(csp).toContain("frame-ancestors 'none'");
    const scripts = [...page.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes = '', body = ''] of scripts) {
      expect(body.trim(), 'inline script').toBe('');
      expect(attributes).toMatch(/src="\/api\/docs\//);
    }
    const assets = [...page.text.matchAll(/(?:src|href)="(\/api\/docs\/[^"]+)"/g)].map((m) => m[1] as string);
    for (const asset of assets) {
      const answer = await readAnswer(harness.app.request(asset));
      expect(answer.status, asset).toBe(200);
      expect(answer.headers.get('content-type'), asset).toMatch(/^text\/(javascript|css)/);
    }
  });

  it('every cookie any answer sets is HttpOnly and SameSite=Strict, and Secure over https (the dashboard session)', async () => {
    const admin = await seedUser(database.db, 'admin');
    const dashboardLogin = (origin: string) =>
      readAnswer(
        harness.app.request(`${origin}/admin/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
          body: new URLSearchParams({ email: admin.email, password: admin.password }).toString(),
        }),
      );
    const overHttp = await dashboardLogin('http://localhost');
    const overHttps = await dashboardLogin('https://localhost');
    const logout = await readAnswer(
      harness.app.request('https://localhost/admin/logout', {
        method: 'POST',
        headers: { origin: 'https://localhost' },
      }),
    );
    const all: [string, Answer][] = [
      ...answers,
      ['dashboard login (http)', overHttp],
      ['dashboard login (https)', overHttps],
      ['dashboard logout (https)', logout],
    ];
    const cookies = all.flatMap(([name, answer]) => answer.headers.getSetCookie().map((c) => [name, c] as const));
    expect(overHttps.headers.getSetCookie().length, 'the dashboard login sets its session cookies').toBeGreaterThan(0);
    const unflagged = cookies.filter(([, c]) => !/;\s*HttpOnly/i.test(c) || !/;\s*SameSite=Strict/i.test(c));
    expect(unflagged).toEqual([]);
    const insecureOverHttps = cookies.filter(([name, c]) => name.includes('https') && !/;\s*Secure/i.test(c));
    expect(insecureOverHttps).toEqual([]);
    // The JSON API itself sets none: its tokens travel in bodies and the Authorization header.
    expect(answers.filter(([, answer]) => answer.headers.getSetCookie().length > 0).map(([name]) => name)).toEqual([]);
  });
});
