import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appFor } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { postJson, seedUser } from './support/users.ts';

type Schema = { $ref?: string; type?: string | string[]; properties?: Record<string, Schema>; required?: string[] };
type Operation = { method: string; path: string; body?: Schema; hasQuery: boolean; hasParams: boolean };

const HUGE = 'x'.repeat(100_000);
const CRON_SECRET = 'input-validation-cron-secret-01';

// Every JSON route, as an admin: rejected input is a 4xx with the envelope, never a 5xx, and
// changes nothing stored. Generated from the OpenAPI document, so new routes are covered.
describe.each(databaseKinds())('bad input on every JSON route (%s)', (kind) => {
  let database: TestDatabase;
  let harness: ReturnType<typeof appFor>;
  let operations: Operation[];
  let token: string;
  let userId: string;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    harness = appFor({ DATABASE_URL: database.url, BODY_LIMIT: '1mb', CRON_SECRET });
    const admin = await seedUser(database.db, 'admin');
    token = (await postJson(harness.app, '/api/auth/login', { email: admin.email, password: admin.password })).body
      .accessToken;
    userId = (await seedUser(database.db, 'agent')).id;
    const doc = await (await harness.app.request('/api/openapi.json')).json();
    const resolve = (schema: Schema | undefined): Schema | undefined =>
      schema?.$ref ? doc.components.schemas[schema.$ref.split('/').at(-1) as string] : schema;
    operations = Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>).flatMap(
      ([path, ops]) =>
        Object.entries(ops).map(([method, op]) => {
          const parameters = (op.parameters ?? []) as { in: string }[];
          const body = (op.requestBody as { content?: Record<string, { schema: Schema }> } | undefined)?.content?.[
            'application/json'
          ]?.schema;
          return {
            method: method.toUpperCase(),
            path,
            body: resolve(body),
            hasQuery: parameters.some((p) => p.in === 'query'),
            hasParams: parameters.some((p) => p.in === 'path'),
          };
        }),
    );
  });
  afterAll(async () => {
    await harness?.close();
    await database?.drop();
  });

  const snapshot = async () =>
    (
      await sql<{
        digest: string;
      }>`select md5(coalesce(string_agg(u::text, '|' order by id), '')) as digest from users u`.execute(database.db)
    ).rows[0]?.digest;

  const send = async (op: Operation, init: { body?: string; contentType?: string; path?: string; query?: string }) => {
    const path = (init.path ?? op.path).replace('{id}', userId).replace('{job}', 'log_cleanup');
    const res = await harness.app.request(`${path}${init.query ? `?${init.query}` : ''}`, {
      method: op.method,
      headers: {
        authorization: `Bearer ${op.path.startsWith('/api/cron/') ? CRON_SECRET : token}`,
        'content-type': init.contentType ?? 'application/json',
      },
      ...(init.body === undefined ? {} : { body: init.body }),
    });
    return { status: res.status, text: await res.text() };
  };

  const expectRejected = (where: string, r: { status: number; text: string }) => {
    expect(r.status, `${where}: ${r.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
    expect(r.status, `${where}: ${r.text.slice(0, 200)}`).toBeLessThan(500);
    const body = JSON.parse(r.text);
    expect(body.error, where).toMatchObject({
      code: expect.any(String),
      message: expect.any(String),
      requestId: expect.any(String),
    });
  };

  it('bodies: missing fields, wrong types, huge strings, unknown fields, malformed JSON, wrong content type', async () => {
    const before = await snapshot();
    let cases = 0;
    for (const op of operations.filter((o) => o.body?.properties)) {
      const props = Object.keys(op.body?.properties ?? {});
      const where = `${op.method} ${op.path}`;
      const bodies: Record<string, string> = {
        empty: '{}',
        'array instead of object': '[]',
        'null body': 'null',
        malformed: '{"email": ',
        'wrong types': JSON.stringify(Object.fromEntries(props.map((p) => [p, { nested: [1, 2] }]))),
        numbers: JSON.stringify(Object.fromEntries(props.map((p) => [p, 12345]))),
        'huge strings': JSON.stringify(Object.fromEntries(props.map((p) => [p, HUGE]))),
        'unknown fields': JSON.stringify({ id: userId, password_hash: 'pbkdf2-sha256$1$AA$AA', is_admin: true }),
      };
      for (const [name, body] of Object.entries(bodies)) {
        if (name === 'empty' && (op.body?.required ?? []).length === 0 && !op.path.includes('users/{id}')) continue;
        expectRejected(`${name} on ${where}`, await send(op, { body }));
        cases++;
      }
      expectRejected(`text/plain on ${where}`, await send(op, { body: 'hello', contentType: 'text/plain' }));
      cases++;
    }
    expect(cases).toBeGreaterThan(40);
    expect(await snapshot()).toBe(before);
  });

  it('path ids that are not ids, and bad queries', async () => {
    const before = await snapshot();
    for (const op of operations.filter((o) => o.hasParams)) {
      const path = op.path.replace('{id}', 'not-a-uuid').replace('{job}', 'Not A Job!');
      expectRejected(`bad id on ${op.method} ${op.path}`, await send(op, { path, body: op.body ? '{}' : undefined }));
    }
    for (const op of operations.filter((o) => o.hasQuery)) {
      for (const query of [
        'limit=0',
        'limit=10000',
        'limit=abc',
        'cursor=garbage',
        'unknown=1',
        `cursor=${HUGE.slice(0, 2000)}`,
      ]) {
        expectRejected(`${query} on ${op.method} ${op.path}`, await send(op, { query }));
      }
    }
    expect(await snapshot()).toBe(before);
  });

  it('contract points: forbidden fields, unknown user, duplicate email, no hashes in any answer', async () => {
    const create = (body: unknown) => postJson(harness.app, '/api/users', body, { authorization: `Bearer ${token}` });
    const valid = { email: 'new.user@example.com', name: 'New User', role: 'agent', password: 'long-enough-pw' };
    for (const extra of [{ password_hash: 'x' }, { id: userId }, { isActive: false }]) {
      const r = await create({ ...valid, ...extra });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_FAILED');
    }
    const created = await create(valid);
    expect(created.status).toBe(201);
    expect(JSON.stringify(created.body)).not.toMatch(/password|pbkdf2/i);
    expect((await create(valid)).status).toBe(409);
    const missing = await harness.app.request('/api/users/00000000-0000-4000-8000-000000000000', {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x' }),
    });
    expect(missing.status).toBe(404);
    const list = await harness.app.request('/api/users?limit=200', { headers: { authorization: `Bearer ${token}` } });
    expect(await list.text()).not.toMatch(/password_hash|pbkdf2/i);
  });
});
