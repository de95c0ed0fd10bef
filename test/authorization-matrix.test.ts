import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_EXTENSION } from '../functions/route.ts';
import { utf8 } from '../lib/auth/crypto.ts';
import { can, type Permission, ROLES } from '../lib/auth/permissions.ts';
import type { Role } from '../schema/database.ts';
import { appFor, TEST_ENV } from './support/app.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { postJson, seedUser } from './support/users.ts';

// Routes served outside the OpenAPI document, with their access. Anything else in the router
// must be in the document, so a route added later is covered without editing this test.
const NON_OPENAPI_ROUTES: Record<string, 'public'> = {
  'GET /api/openapi.json': 'public',
  'GET /api/docs': 'public',
  'GET /api/docs/init.js': 'public',
  'GET /api/docs/assets/:file': 'public',
};

type Operation = { method: string; path: string; access: string; requestBody?: unknown };

describe('authorization matrix generated from the router', () => {
  let database: TestDatabase;
  let harness: ReturnType<typeof appFor>;
  let operations: Operation[];
  const tokens = new Map<Role, string>();
  let someUserId: string;
  const secret = utf8(TEST_ENV.JWT_SECRET);

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    harness = appFor({ DATABASE_URL: database.url, CRON_SECRET: 'matrix-cron-secret-0123456789' });
    const doc = await (await harness.app.request('/api/openapi.json')).json();
    operations = Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>).flatMap(
      ([path, ops]) =>
        Object.entries(ops).map(([method, op]) => ({
          method: method.toUpperCase(),
          path: path.replace(/\{(\w+)\}/g, ':$1'),
          access: String(op[ACCESS_EXTENSION]),
          requestBody: op.requestBody,
        })),
    );
    for (const role of ROLES) {
      const user = await seedUser(database.db, role);
      tokens.set(
        role,
        (await postJson(harness.app, '/api/auth/login', { email: user.email, password: user.password })).body
          .accessToken,
      );
    }
    someUserId = (await seedUser(database.db, 'agent')).id;
  });
  afterAll(async () => {
    await harness?.close();
    await database?.drop();
  });

  const sign = (claims: { iss?: string; aud?: string; exp?: number; typ?: string; key?: Uint8Array; role?: string }) =>
    new SignJWT({ role: claims.role ?? 'admin' })
      .setProtectedHeader({ alg: 'HS256', typ: claims.typ ?? 'at+jwt' })
      .setSubject(someUserId)
      .setIssuer(claims.iss ?? 'opsbase')
      .setAudience(claims.aud ?? 'opsbase-api')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
      .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 600)
      .sign(claims.key ?? secret);

  const call = (op: Operation, authorization?: string) => {
    const path = op.path
      .replace(/:id\b/, someUserId)
      .replace(/:job\b/, 'log_cleanup')
      .replace(/:file\b/, 'swagger-ui.css');
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authorization) headers.authorization = authorization;
    return harness.app.request(path, {
      method: op.method,
      headers,
      ...(op.requestBody ? { body: '{}' } : {}),
    });
  };

  it('every /api route in the router is declared in the OpenAPI document (or listed as non-OpenAPI)', () => {
    const declared = new Set(operations.map((o) => `${o.method} ${o.path}`));
    const routed = new Set(
      harness.app.routes
        .filter((r) => r.method !== 'ALL' && r.path.startsWith('/api/'))
        .map((r) => `${r.method} ${r.path}`),
    );
    const undeclared = [...routed].filter((key) => !declared.has(key) && !(key in NON_OPENAPI_ROUTES));
    expect(undeclared).toEqual([]);
    for (const op of operations) expect(op.access, `${op.method} ${op.path}`).not.toBe('undefined');
    expect(operations.length).toBeGreaterThan(10);
  });

  it('a bad credential gets 401 with the envelope and WWW-Authenticate on every protected route', async () => {
    const badCredentials = {
      'no token': undefined,
      'not bearer': 'Basic YWRtaW46YWRtaW4=',
      'empty bearer': 'Bearer',
      'garbage bearer': 'Bearer not.a.jwt',
      expired: `Bearer ${await sign({ exp: Math.floor(Date.now() / 1000) - 120 })}`,
      'alg none': `Bearer ${new UnsecuredJWT({ role: 'admin' }).setSubject(someUserId).setIssuer('opsbase').setAudience('opsbase-api').setExpirationTime('5m').encode()}`,
      'another key': `Bearer ${await sign({ key: utf8('another-secret-another-secret-0123') })}`,
      'wrong iss': `Bearer ${await sign({ iss: 'evil' })}`,
      'wrong aud': `Bearer ${await sign({ aud: 'other-api' })}`,
      'wrong typ': `Bearer ${await sign({ typ: 'JWT' })}`,
    };
    let checked = 0;
    for (const op of operations.filter((o) => o.access !== 'public')) {
      for (const [name, authorization] of Object.entries(badCredentials)) {
        const res = await call(op, authorization);
        expect(res.status, `${name} on ${op.method} ${op.path}`).toBe(401);
        const body = await res.json();
        expect(body.error.code, `${name} on ${op.method} ${op.path}`).toBe('UNAUTHORIZED');
        expect(body.error.requestId).toBeTruthy();
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('each role gets 403 where its permission is missing and gets through where it is granted', async () => {
    for (const op of operations.filter((o) => o.access !== 'public' && o.access !== 'cron')) {
      for (const role of ROLES) {
        const res = await call(op, `Bearer ${tokens.get(role)}`);
        const allowed = op.access === 'authenticated' || can(role, op.access as Permission);
        const where = `${role} on ${op.method} ${op.path}`;
        if (allowed) {
          expect([401, 403], where).not.toContain(res.status);
          expect(res.status, where).toBeLessThan(500);
        } else {
          expect(res.status, where).toBe(403);
          expect((await res.json()).error.code, where).toBe('FORBIDDEN');
        }
      }
    }
  });

  it('only md and admin reach /api/admin and the users admin', async () => {
    const adminOnly = operations.filter((o) => o.path.startsWith('/api/admin/') || o.path.startsWith('/api/users'));
    expect(adminOnly.length).toBeGreaterThan(5);
    for (const op of adminOnly) {
      for (const role of ['manager', 'agent', 'operator'] as const) {
        expect((await call(op, `Bearer ${tokens.get(role)}`)).status, `${role} on ${op.method} ${op.path}`).toBe(403);
      }
    }
  });

  it('cron routes take CRON_SECRET, not a user token, even an admin one', async () => {
    for (const op of operations.filter((o) => o.access === 'cron')) {
      expect((await call(op, `Bearer ${tokens.get('admin')}`)).status).toBe(401);
      expect((await call(op, 'Bearer matrix-cron-secret-0123456789')).status).toBe(200);
    }
  });

  it('public routes never ask for a token', async () => {
    for (const op of operations.filter((o) => o.access === 'public')) {
      expect([401, 403], `${op.method} ${op.path}`).not.toContain((await call(op)).status);
    }
  });

  it('a role changed in the database applies to the same token on the next request; a deleted user is refused', async () => {
    const user = await seedUser(database.db, 'agent');
    const token = (await postJson(harness.app, '/api/auth/login', { email: user.email, password: user.password })).body
      .accessToken;
    const listUsers = () => harness.app.request('/api/users', { headers: { authorization: `Bearer ${token}` } });
    expect((await listUsers()).status).toBe(403);
    await database.db.updateTable('users').set({ role: 'admin' }).where('id', '=', user.id).execute();
    expect((await listUsers()).status).toBe(200);
    await database.db.deleteFrom('users').where('id', '=', user.id).execute();
    expect((await listUsers()).status).toBe(401);
  });
});
