import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBase64Url, utf8 } from '../lib/auth/crypto.ts';
import { appFor } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { type Answer, envelopeProblems, errorCode, readAnswer } from './support/envelope.ts';
import {
  fillPath,
  type JsonSchema,
  type Operation,
  type Parameter,
  readOperations,
  sampleBody,
  samplePathValue,
  sampleValue,
  violates,
} from './support/openapi-operations.ts';
import { startTestS3, type TestS3 } from './support/s3.ts';
import { changedTables, tableDigests } from './support/table-digest.ts';
import { loginToken, postJson, seedUser } from './support/users.ts';

// Every JSON route, generated from the OpenAPI document (so a new route is covered without
// editing this file), as an admin: bad input is a 4xx with the error envelope, never a 5xx, and
// a rejected request changes nothing stored.

const CRON_SECRET = 'bad-input-cron-secret-0123456789abcdef';
const TELEGRAM_WEBHOOK_SECRET = 'bad-input-telegram-secret-0123456789';
/**
 * Bodies that are deliberately not strict, and why. Everything else must refuse unknown fields.
 */
const LENIENT_BODIES: Record<string, string> = {
  'POST /api/telegram/webhook':
    'Telegram Update objects gain fields over time; unknown ones are ignored, never refused (a refused update is redelivered)',
};
const BODY_LIMIT_BYTES = 1024 * 1024;
/** 100 KB: far past every field's limit, far under BODY_LIMIT. */
const HUGE = 'x'.repeat(100_000);
const UNKNOWN_FIELDS: [string, unknown][] = [
  ['id', '00000000-0000-4000-8000-000000000000'],
  ['password_hash', 'pbkdf2-sha256$1000$AAAA$AAAA'],
  ['role', 'admin'],
  ['isActive', true],
  ['is_admin', true],
  ['__proto__', { isAdmin: true }],
];
const NOT_OBJECTS = ['', 'null', '[]', '"text"', '42', 'true', '{"a": ', "{'a': 1}", '{"a":1}}', '{"a":1,}'];
const QUERY_VALUES = ['0', '-1', '10000', 'abc', '1.5', '', 'x'.repeat(600), '2026-13-45T25:61:00Z', 'NOT_IN_ENUM'];
/** Cursors this API never issued: garbage, and base64url JSON of the right shape with wrong contents. */
const FORGED_CURSORS = [
  'garbage',
  '!!!',
  toBase64Url(utf8('{}')),
  toBase64Url(utf8('["x","y"]')),
  toBase64Url(utf8('[1,2]')),
  toBase64Url(utf8('["2026-01-01T00:00:00.000Z","not-a-uuid"]')),
  toBase64Url(utf8('["2026-01-01T00:00:00.000Z",1.5]')),
  toBase64Url(utf8('["2026-01-01T00:00:00.000Z",1e300]')),
  toBase64Url(utf8('["-271821-04-20T00:00:00.000Z",1]')),
  toBase64Url(utf8('["-271821-04-20T00:00:00.000Z","00000000-0000-4000-8000-000000000000"]')),
  // Year 0 has the cursor's shape and is a JavaScript date, but no Postgres timestamp.
  toBase64Url(utf8('["0000-06-01T00:00:00.000Z",1]')),
  toBase64Url(utf8('["0000-06-01T00:00:00.000Z","00000000-0000-4000-8000-000000000000"]')),
];

/** One generated request and the statuses that count as a correct refusal. */
type Case = {
  name: string;
  op: Operation;
  expected: number[];
  /** The envelope code the refusal must carry, when one is specific. */
  code?: string;
  path?: string;
  query?: string;
  /** Raw body text; by default a valid JSON body for routes that take one. */
  body?: string;
  /** null: no content-type header. */
  contentType?: string | null;
};

/** Values of the wrong type or format for a property. */
function wrongValues(schema: JsonSchema): unknown[] {
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  const values: unknown[] = [];
  if (!types.includes('null')) values.push(null);
  if (schema.enum) values.push('NOT_IN_ENUM', 1);
  if (types.includes('string')) {
    values.push(12345, true, ['x'], { x: 1 });
    if ((schema.minLength ?? 0) > 0) values.push('');
    if (schema.format === 'email') values.push('not-an-email', 'a@', '@example.com');
    if (schema.format === 'uuid') values.push('not-a-uuid');
    if (schema.format === 'date-time') values.push('yesterday');
  }
  if (types.includes('boolean')) values.push('true', 1, 'yes');
  if (types.includes('integer') || types.includes('number')) values.push('1', true, []);
  if (types.includes('integer')) values.push(1.5);
  if (types.includes('array')) values.push('x', {});
  if (types.includes('object')) values.push('x', []);
  return values;
}

/** JSON object text with one more member, written by hand so `__proto__` stays an own key. */
function withMember(body: Record<string, unknown>, key: string, value: unknown): string {
  const members = [...Object.entries(body), [key, value] as const].map(
    ([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`,
  );
  return `{${members.join(',')}}`;
}

describe.each(databaseKinds())('bad input on every JSON route (%s)', (kind) => {
  let database: TestDatabase;
  // Object storage too: the backup routes need it to reach their handlers.
  let s3: TestS3;
  let harness: ReturnType<typeof appFor>;
  let operations: Operation[];
  let adminToken: string;
  let userId: string;
  let snapshot: () => Promise<Record<string, string>>;

  beforeAll(async () => {
    [database, s3] = await Promise.all([createTestDatabase(kind), startTestS3()]);
    harness = appFor({
      DATABASE_URL: database.url,
      ...s3.env,
      BODY_LIMIT: String(BODY_LIMIT_BYTES),
      CRON_SECRET,
      TELEGRAM_WEBHOOK_SECRET,
    });
    const admin = await seedUser(database.db, 'admin');
    adminToken = await loginToken(harness.app, admin);
    userId = (await seedUser(database.db, 'agent')).id;
    operations = await readOperations(harness.app);

    // Every table but the request log (which records rejected requests by design): a digest each.
    snapshot = await tableDigests(database.db, ['request\\_log%']);
  });
  afterAll(async () => {
    await harness?.close();
    await Promise.all([database?.drop(), s3?.stop()]);
  });

  const authorizationFor = (op: Operation) =>
    op.access === 'public' ? undefined : `Bearer ${op.access === 'cron' ? CRON_SECRET : adminToken}`;
  const bodyOps = () => operations.filter((o) => o.body?.type === 'object');
  const validPath = (op: Operation) => fillPath(op, (p) => samplePathValue(p, userId));
  const validBody = (op: Operation) => (op.body ? sampleBody(op.body) : undefined);

  function send(c: Case): Promise<Answer> {
    const body = c.body ?? (c.op.body ? JSON.stringify(validBody(c.op)) : undefined);
    const headers: Record<string, string> = {};
    const authorization = authorizationFor(c.op);
    if (c.op.access === 'telegram') headers['x-telegram-bot-api-secret-token'] = TELEGRAM_WEBHOOK_SECRET;
    else if (authorization) headers.authorization = authorization;
    const contentType = c.contentType === undefined ? (body === undefined ? null : 'application/json') : c.contentType;
    if (contentType) headers['content-type'] = contentType;
    const path = `${c.path ?? validPath(c.op)}${c.query === undefined ? '' : `?${c.query}`}`;
    return readAnswer(
      // As bytes: a string body would get a text/plain content type from the Request itself.
      harness.app.request(path, { method: c.op.method, headers, ...(body === undefined ? {} : { body: utf8(body) }) }),
    );
  }

  /** Sends every case; each must be refused as expected, with the envelope, leaving every table as it was. */
  async function expectRefused(cases: Case[]) {
    const failures: string[] = [];
    // Each case's "after" is the next case's "before": one digest per case, not two.
    let before = await snapshot();
    for (const c of cases) {
      const answer = await send(c);
      const after = await snapshot();
      const problems = envelopeProblems(answer);
      if (!c.expected.includes(answer.status)) problems.unshift(`status ${answer.status}, not ${c.expected.join('/')}`);
      if (c.code && errorCode(answer) !== c.code) problems.push(`code ${errorCode(answer)}, not ${c.code}`);
      const changed = changedTables(before, after);
      if (changed.length > 0) problems.push(`changed ${changed.join(', ')}`);
      if (problems.length > 0) {
        failures.push(`${c.name} on ${c.op.key}: ${problems.join('; ')} (${answer.text.slice(0, 160)})`);
      }
      before = after;
    }
    expect(cases.length).toBeGreaterThan(0);
    expect(failures).toEqual([]);
  }

  it('a body missing a required field is refused with 400', async () => {
    const cases = bodyOps().flatMap((op) => {
      const valid = validBody(op) ?? {};
      const required = op.body?.required ?? [];
      return [
        ...required.map((key): Case => {
          const { [key]: _missing, ...rest } = valid;
          return { name: `without ${key}`, op, expected: [400], body: JSON.stringify(rest) };
        }),
        ...(required.length > 0 ? [{ name: 'an empty object', op, expected: [400], body: '{}' }] : []),
      ];
    });
    await expectRefused(cases);
  });

  it('a field of the wrong type or format is refused with 400', async () => {
    const cases = bodyOps().flatMap((op) =>
      Object.entries(op.body?.properties ?? {}).flatMap(([key, schema]) =>
        wrongValues(schema).map(
          (value): Case => ({
            name: `${key}: ${JSON.stringify(value)}`,
            op,
            expected: [400],
            body: JSON.stringify({ ...validBody(op), [key]: value }),
          }),
        ),
      ),
    );
    await expectRefused(cases);
  });

  it('a 100 KB string in any field is refused with 400 (not 413: it is under BODY_LIMIT)', async () => {
    const cases = bodyOps().flatMap((op) =>
      Object.entries(op.body?.properties ?? {})
        .filter(([, schema]) => schema.type === 'string')
        .map(
          (entry): Case => ({
            name: `100 KB ${entry[0]}`,
            op,
            expected: [400],
            body: JSON.stringify({ ...validBody(op), [entry[0]]: HUGE }),
          }),
        ),
    );
    await expectRefused(cases);
  });

  it('an unknown field next to valid ones is refused with 400: bodies are strict objects', async () => {
    const strictOps = () => bodyOps().filter((op) => !(op.key in LENIENT_BODIES));
    for (const op of strictOps()) expect(op.body?.additionalProperties, op.key).toBe(false);
    const cases = strictOps().flatMap((op) =>
      UNKNOWN_FIELDS.filter(([key]) => !(key in (op.body?.properties ?? {}))).map(
        ([key, value]): Case => ({
          name: `extra ${key}`,
          op,
          expected: [400],
          body: withMember(validBody(op) ?? {}, key, value),
        }),
      ),
    );
    await expectRefused(cases);
  });

  it('a body that is not a JSON object (malformed JSON, an array, null, empty) is refused with 400', async () => {
    const cases = bodyOps().flatMap((op) =>
      NOT_OBJECTS.map((body): Case => ({ name: `body ${JSON.stringify(body)}`, op, expected: [400], body })),
    );
    await expectRefused(cases);
  });

  it('a JSON body sent as another content type, or with none, is refused with 400 or 415', async () => {
    const cases = bodyOps().flatMap((op) => {
      const valid = validBody(op) ?? {};
      const form = new URLSearchParams(Object.entries(valid).map(([k, v]) => [k, String(v)])).toString();
      return [
        { name: 'text/plain', op, expected: [400, 415], contentType: 'text/plain', body: JSON.stringify(valid) },
        { name: 'no content-type', op, expected: [400, 415], contentType: null, body: JSON.stringify(valid) },
        { name: 'a form', op, expected: [400, 415], contentType: 'application/x-www-form-urlencoded', body: form },
        { name: 'application/xml', op, expected: [400, 415], contentType: 'application/xml', body: '<a>1</a>' },
      ] satisfies Case[];
    });
    await expectRefused(cases);
  });

  it('a body over BODY_LIMIT is refused with 413', async () => {
    const body = JSON.stringify({ name: 'x'.repeat(BODY_LIMIT_BYTES + 1024) });
    await expectRefused(bodyOps().map((op) => ({ name: 'over BODY_LIMIT', op, expected: [413], body })));
  });

  it('a path parameter that is not a well-formed id is refused with 400', async () => {
    const candidates = ['not-a-uuid', "1' or '1'='1", 'NOT_A_NAME', 'x'.repeat(300), '12345'];
    const cases = operations.flatMap((op) =>
      op.pathParams.flatMap((param) =>
        candidates
          .filter((value) => violates(param.schema, value))
          .map(
            (value): Case => ({
              name: `${param.name}=${value.slice(0, 20)}`,
              op,
              expected: [400],
              path: fillPath(op, (p) => (p.name === param.name ? value : samplePathValue(p, userId))),
            }),
          ),
      ),
    );
    for (const op of operations.filter((o) => o.pathParams.length > 0)) {
      expect(
        cases.some((c) => c.op === op),
        `no malformed path value for ${op.key}`,
      ).toBe(true);
    }
    await expectRefused(cases);
  });

  it('a well-formed id of nothing is 404 NOT_FOUND', async () => {
    const unknownValue = (param: Parameter) => {
      if (param.schema.format === 'uuid') return randomUUID();
      const value = `${samplePathValue(param, userId)}zz`;
      if (violates(param.schema, value)) throw new Error(`no well-formed unknown value for ${param.name}`);
      return value;
    };
    const cases = operations
      .filter((op) => op.pathParams.length > 0)
      .map(
        (op): Case => ({
          name: 'unknown id',
          op,
          expected: [404],
          code: 'NOT_FOUND',
          path: fillPath(op, unknownValue),
        }),
      );
    await expectRefused(cases);
  });

  it('a query out of bounds (limit=0, limit=10000, a forged cursor, an unknown parameter) is refused with 400', async () => {
    const cases = operations
      .filter((op) => op.queryParams.length > 0)
      .flatMap((op): Case[] => {
        const one = (name: string, query: string): Case => ({ name, op, expected: [400], query });
        const byParam = op.queryParams.flatMap((param) => {
          const bounds = [param.schema.minimum, param.schema.maximum]
            .filter((n): n is number => n !== undefined)
            .map((n, i) => String(i === 0 ? n - 1 : n + 1));
          const invalid = [...bounds, ...QUERY_VALUES].filter((v) => violates(param.schema, v));
          const cursors = param.name === 'cursor' ? FORGED_CURSORS : [];
          const twice = `${param.name}=${encodeURIComponent(String(sampleValue(param.schema)))}`;
          return [
            ...[...invalid, ...cursors].map((v) =>
              one(`${param.name}=${v.slice(0, 24)}`, `${param.name}=${encodeURIComponent(v)}`),
            ),
            one(`${param.name} twice`, `${twice}&${twice}`),
          ];
        });
        const names = op.queryParams.map((p) => p.name);
        const reversed =
          names.includes('from') && names.includes('to')
            ? [one('from after to', 'from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z')]
            : [];
        return [...byParam, ...reversed, one('an unknown parameter', 'unknown_param=1')];
      });
    for (const op of operations.filter((o) => o.queryParams.some((p) => p.name === 'limit'))) {
      for (const query of ['limit=0', 'limit=10000', 'cursor=garbage']) {
        expect(
          cases.some((c) => c.op === op && c.query === query),
          `${query} on ${op.key}`,
        ).toBe(true);
      }
    }
    await expectRefused(cases);
    // Generated: the case count grows with every query parameter of every route.
  }, 120_000);

  describe('contract points of the users API', () => {
    const asAdmin = (method: string, path: string, body?: unknown) =>
      readAnswer(
        harness.app.request(path, {
          method,
          headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }),
      );
    const newUser = () => ({
      email: `contract-${randomUUID()}@example.test`,
      name: 'Contract User',
      role: 'agent',
      password: 'long-enough-password',
    });

    it('POST /api/users with password_hash, id or isActive is refused with 400 and creates no user', async () => {
      for (const [key, value] of [
        ['password_hash', 'pbkdf2-sha256$1000$AAAA$AAAA'],
        ['id', randomUUID()],
        ['isActive', false],
      ] as const) {
        const body = { ...newUser(), [key]: value };
        const before = await snapshot();
        const answer = await asAdmin('POST', '/api/users', body);
        expect(answer.status, key).toBe(400);
        expect(errorCode(answer), key).toBe('VALIDATION_FAILED');
        expect(envelopeProblems(answer), key).toEqual([]);
        expect(await snapshot(), key).toEqual(before);
      }
    });

    it('PATCH /api/users/:id for an unknown user is 404 NOT_FOUND', async () => {
      const answer = await asAdmin('PATCH', `/api/users/${randomUUID()}`, { name: 'Nobody' });
      expect(answer.status).toBe(404);
      expect(errorCode(answer)).toBe('NOT_FOUND');
      expect(envelopeProblems(answer)).toEqual([]);
    });

    it('PATCH /api/users/:id with an empty object is 400: there must be something to change', async () => {
      const answer = await asAdmin('PATCH', `/api/users/${userId}`, {});
      expect(answer.status).toBe(400);
      expect(envelopeProblems(answer)).toEqual([]);
    });

    it('a second user with the same email is 409 CONFLICT, whatever the letter case', async () => {
      const user = newUser();
      expect((await asAdmin('POST', '/api/users', user)).status).toBe(201);
      for (const email of [user.email, user.email.toUpperCase()]) {
        const before = await snapshot();
        const answer = await asAdmin('POST', '/api/users', { ...user, email });
        expect(answer.status, email).toBe(409);
        expect(errorCode(answer), email).toBe('CONFLICT');
        expect(envelopeProblems(answer), email).toEqual([]);
        expect(await snapshot(), email).toEqual(before);
      }
    });

    it('no answer carries a password hash: not the field, not the pbkdf2 string, not a stored hash', async () => {
      const user = newUser();
      const created = await asAdmin('POST', '/api/users', user);
      const id = JSON.parse(created.text).id as string;
      const session = await postJson(harness.app, '/api/auth/login', { email: user.email, password: user.password });
      const answers: [string, Answer][] = [
        ['POST /api/users', created],
        [
          'POST /api/auth/login',
          { status: session.status, headers: session.headers, text: JSON.stringify(session.body) },
        ],
        ['PATCH /api/users/:id', await asAdmin('PATCH', `/api/users/${id}`, { name: 'Renamed', role: 'manager' })],
        ['GET /api/users?limit=200', await asAdmin('GET', '/api/users?limit=200')],
      ];
      // Every GET route, as an admin: the lists, and the ones whose path names a user (filled
      // with the user just made).
      const shown = (o: Operation) => o.pathParams.length === 0 || o.path.startsWith('/api/users/');
      for (const op of operations.filter((o) => o.method === 'GET' && o.access !== 'cron' && shown(o))) {
        answers.push([
          op.key,
          await asAdmin(
            'GET',
            fillPath(op, (p) => samplePathValue(p, id)),
          ),
        ]);
      }
      const hashes = (await database.db.selectFrom('users').select('password_hash').execute()).map(
        (r) => r.password_hash,
      );
      for (const [key, answer] of answers) {
        // The user's id fills every path id: on routes of another resource (/api/leads/:id) it names nothing.
        const otherResource = key.includes('/:') && !key.startsWith('GET /api/users/');
        if (otherResource && answer.status === 404) continue;
        expect(answer.status, `${key}: ${answer.text.slice(0, 160)}`).toBeLessThan(400);
        expect(answer.text, key).not.toMatch(/password_hash|pbkdf2/i);
        for (const hash of hashes) expect(answer.text.includes(hash), key).toBe(false);
      }
    });
  });
});
