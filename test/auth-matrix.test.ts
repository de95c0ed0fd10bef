import { randomUUID } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utf8 } from '../lib/auth/crypto.ts';
import { can, PERMISSIONS, type Permission, ROLES } from '../lib/auth/permissions.ts';
import { signAccessToken, type TokenSettings } from '../lib/auth/tokens.ts';
import type { Role } from '../schema/database.ts';
import { appFor, TEST_ENV } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { type Answer, envelopeProblems, errorCode, readAnswer } from './support/envelope.ts';
import {
  fillPath,
  type Operation,
  readOperations,
  sampleBody,
  samplePathValue,
  servedRoutes,
} from './support/openapi-operations.ts';
import { startTestS3, type TestS3 } from './support/s3.ts';
import { postJson, seedUser } from './support/users.ts';

// The matrix is generated from the router and the OpenAPI document it serves: a route added
// later is covered here without editing this file.

/** Routes served outside the OpenAPI document (all public), with a path to request each by. */
const NON_OPENAPI_ROUTES: Record<string, string> = {
  'GET /api/openapi.json': '/api/openapi.json',
  'GET /api/docs': '/api/docs',
  'GET /api/docs/init.js': '/api/docs/init.js',
  'GET /api/docs/assets/:file': '/api/docs/assets/swagger-ui.css',
};

/**
 * The only operations anyone may call without a token. Making a route public is a decision to
 * write down here; a protected route added later needs no edit.
 */
const PUBLIC_OPERATIONS = [
  'GET /api/health',
  'POST /api/auth/login',
  'POST /api/auth/refresh',
  'POST /api/auth/logout',
];

/** Routes only the admin roles (those with admin:access) may reach, whatever permission they declare. */
const ADMIN_PREFIXES = ['/api/admin/', '/api/users'];

const CRON_SECRET = 'matrix-cron-secret-0123456789abcdef';
const TELEGRAM_WEBHOOK_SECRET = 'matrix-telegram-secret-0123456789';
const KNOWN_ACCESS = ['public', 'authenticated', 'cron', 'telegram', ...Object.keys(PERMISSIONS)];
/** Routes that take a secret of their own (not a user's bearer token). */
const SECRET_ACCESS = ['cron', 'telegram'];

type SeededUser = Awaited<ReturnType<typeof seedUser>>;
type Forgery = { settings: TokenSettings; subject: SeededUser; refreshToken: string };

const bearer = (token: string) => `Bearer ${token}`;
const signed = (f: Forgery, settings: Partial<TokenSettings>) =>
  signAccessToken({ ...f.settings, ...settings }, { userId: f.subject.id, role: f.subject.role }).then(bearer);

/**
 * Every credential a protected route must refuse with 401. The forged tokens name a real, active
 * admin, so the only thing wrong with each is the thing its name says.
 */
const BAD_CREDENTIALS: { name: string; authorization: (f: Forgery) => Promise<string | undefined> }[] = [
  { name: 'a request without a token', authorization: async () => undefined },
  { name: 'a bare "Bearer"', authorization: async () => 'Bearer' },
  { name: 'Basic credentials', authorization: async () => 'Basic x' },
  { name: 'a bearer value that is not a JWT', authorization: async () => 'Bearer not.a.jwt' },
  {
    name: 'an expired token',
    authorization: (f) => signed(f, { accessTtlSeconds: -(f.settings.clockToleranceSeconds + 60) }),
  },
  {
    name: 'an unsigned token (alg none)',
    authorization: async (f) =>
      bearer(
        new UnsecuredJWT({ role: f.subject.role })
          .setSubject(f.subject.id)
          .setIssuer(f.settings.issuer)
          .setAudience(f.settings.audience)
          .setIssuedAt()
          .setExpirationTime('10m')
          .encode(),
      ),
  },
  {
    name: 'a token signed with another key',
    authorization: (f) => signed(f, { secret: utf8('another-secret-another-secret-0123456789') }),
  },
  { name: 'a token from another issuer', authorization: (f) => signed(f, { issuer: 'https://issuer.invalid' }) },
  { name: 'a token for another audience', authorization: (f) => signed(f, { audience: 'another-api' }) },
  {
    name: 'a token not typed as an access token',
    authorization: async (f) =>
      bearer(
        await new SignJWT({ role: f.subject.role })
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .setSubject(f.subject.id)
          .setIssuer(f.settings.issuer)
          .setAudience(f.settings.audience)
          .setIssuedAt()
          .setExpirationTime('10m')
          .sign(f.settings.secret),
      ),
  },
  { name: 'a refresh token in place of an access token', authorization: async (f) => bearer(f.refreshToken) },
];

describe.each(databaseKinds())('authorization matrix generated from the router (%s)', (kind) => {
  let database: TestDatabase;
  // Object storage too: the backup routes need it to reach their handlers.
  let s3: TestS3;
  let harness: ReturnType<typeof appFor>;
  let operations: Operation[];
  let forgery: Forgery;
  /** An existing user, for path ids where the request never reaches its handler. */
  let someUserId: string;

  beforeAll(async () => {
    [database, s3] = await Promise.all([createTestDatabase(kind), startTestS3()]);
    harness = appFor({ DATABASE_URL: database.url, ...s3.env, CRON_SECRET, TELEGRAM_WEBHOOK_SECRET });
    operations = await readOperations(harness.app);
    const subject = await seedUser(database.db, 'admin');
    forgery = {
      settings: { ...harness.services.config.auth.tokens, secret: utf8(TEST_ENV.JWT_SECRET) },
      subject,
      refreshToken: (await login(subject)).refreshToken,
    };
    someUserId = (await seedUser(database.db, 'agent')).id;
  });
  afterAll(async () => {
    await harness?.close();
    await Promise.all([database?.drop(), s3?.stop()]);
  });

  async function login(user: SeededUser): Promise<{ accessToken: string; refreshToken: string }> {
    const res = await postJson(harness.app, '/api/auth/login', { email: user.email, password: user.password });
    if (res.status !== 200) throw new Error(`login of ${user.email} answered ${res.status}`);
    return res.body;
  }

  /**
   * Bodies that must be right beyond their schema to reach the handler's happy path; every
   * other route gets a body sampled from its schema. `caller` is whose credentials the body uses.
   */
  const BODY_FIXTURES: Record<string, (caller: SeededUser) => Promise<unknown>> = {
    'POST /api/auth/login': async (caller) => ({ email: caller.email, password: caller.password }),
    'POST /api/auth/refresh': async (caller) => ({ refreshToken: (await login(caller)).refreshToken }),
    'POST /api/auth/logout': async (caller) => ({ refreshToken: (await login(caller)).refreshToken }),
    'POST /api/auth/change-password': async (caller) => ({
      currentPassword: caller.password,
      newPassword: caller.password,
    }),
  };

  /**
   * Multipart bodies (the OpenAPI document's JSON schemas do not describe them): a form that
   * passes validation, for a task nobody has, so a granted caller reaches the handler's 404.
   */
  const FORM_FIXTURES: Record<string, () => FormData> = {
    'POST /api/uploads': () => {
      const form = new FormData();
      form.set('taskId', randomUUID());
      form.set('file', new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])], 'a.png'));
      return form;
    },
  };

  /** A request that reaches the handler when the credential is good: real ids, a valid body. */
  async function send(
    op: Operation,
    options: { authorization?: string; caller?: SeededUser; userId?: string } = {},
  ): Promise<Answer> {
    const caller = options.caller ?? (await seedUser(database.db, 'agent'));
    const fixture = BODY_FIXTURES[op.key];
    const body = fixture ? await fixture(caller) : op.body && sampleBody(op.body);
    const form = FORM_FIXTURES[op.key]?.();
    const headers: Record<string, string> = {};
    if (options.authorization !== undefined) headers.authorization = options.authorization;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const path = fillPath(op, (p) => samplePathValue(p, options.userId ?? someUserId));
    return readAnswer(
      harness.app.request(path, {
        method: op.method,
        headers,
        ...(form ? { body: form } : body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
  }

  /** A fresh user to act on for routes with a user id, so one request never spoils the next. */
  const targetFor = async (op: Operation) =>
    op.pathParams.some((p) => p.schema.format === 'uuid') ? (await seedUser(database.db, 'agent')).id : someUserId;

  /** Routes a bearer credential opens: user tokens or CRON_SECRET. */
  const protectedOps = () => operations.filter((o) => o.access !== 'public' && o.access !== 'telegram');
  const userOps = () => operations.filter((o) => o.access !== 'public' && !SECRET_ACCESS.includes(o.access));
  const describeAnswer = (a: Answer) => `${a.status} ${a.text.slice(0, 160)}`;

  function unauthorizedProblems(answer: Answer): string[] {
    const problems = envelopeProblems(answer);
    if (answer.status !== 401) problems.unshift(`status ${answer.status}`);
    if (errorCode(answer) !== 'UNAUTHORIZED') problems.push(`code ${errorCode(answer)}`);
    if (answer.headers.get('www-authenticate') !== 'Bearer') {
      problems.push(`WWW-Authenticate ${answer.headers.get('www-authenticate')}`);
    }
    return problems;
  }

  it('every /api route the router serves is in the OpenAPI document or the list of docs routes', () => {
    const documented = new Set(operations.map((o) => o.key));
    const served = servedRoutes(harness.app).filter((key) => key.split(' ')[1]?.startsWith('/api/'));
    expect(served.filter((key) => !documented.has(key) && !(key in NON_OPENAPI_ROUTES))).toEqual([]);
    // And the other way round: the document and the list describe only routes that exist.
    expect(operations.map((o) => o.key).filter((key) => !served.includes(key))).toEqual([]);
    expect(Object.keys(NON_OPENAPI_ROUTES).filter((key) => !served.includes(key))).toEqual([]);
  });

  it('every operation declares its access: public, authenticated, cron or a permission of the map', () => {
    expect(operations.length).toBeGreaterThan(0);
    expect(operations.filter((o) => !KNOWN_ACCESS.includes(o.access)).map((o) => `${o.key}: ${o.access}`)).toEqual([]);
  });

  it('public operations are exactly the listed ones', () => {
    const publicKeys = operations.filter((o) => o.access === 'public').map((o) => o.key);
    expect(publicKeys.sort()).toEqual([...PUBLIC_OPERATIONS].sort());
  });

  it('admin routes declare a permission that only the admin roles hold', () => {
    const adminRoles: readonly string[] = PERMISSIONS['admin:access'];
    const adminOps = operations.filter((o) => ADMIN_PREFIXES.some((prefix) => o.path.startsWith(prefix)));
    expect(adminOps.length).toBeGreaterThan(0);
    const misdeclared = adminOps.filter(
      (o) =>
        !(o.access in PERMISSIONS) ||
        !PERMISSIONS[o.access as Permission].every((role: string) => adminRoles.includes(role)),
    );
    expect(misdeclared.map((o) => `${o.key}: ${o.access}`)).toEqual([]);
  });

  it.each(BAD_CREDENTIALS)(
    '$name is refused with 401, the envelope and WWW-Authenticate on every protected route',
    async ({ authorization }) => {
      const header = await authorization(forgery);
      const failures: string[] = [];
      for (const op of protectedOps()) {
        const answer = await send(op, { authorization: header, caller: forgery.subject });
        const problems = unauthorizedProblems(answer);
        if (problems.length > 0) failures.push(`${op.key}: ${problems.join('; ')} (${describeAnswer(answer)})`);
      }
      expect(protectedOps().length).toBeGreaterThan(0);
      expect(failures).toEqual([]);
    },
  );

  it('the forged tokens are one change away from a working one: the same claims, signed right, get through', async () => {
    const token = await signed(forgery, {});
    for (const op of userOps()) {
      const answer = await send(op, { authorization: token, caller: forgery.subject, userId: await targetFor(op) });
      expect([401, 403], `${op.key}: ${describeAnswer(answer)}`).not.toContain(answer.status);
    }
  });

  it.each(ROLES)(
    'a logged-in %s gets 403 FORBIDDEN exactly where its role lacks the permission, and reaches the handler elsewhere',
    async (role) => {
      const caller = await seedUser(database.db, role);
      const { accessToken } = await login(caller);
      const failures: string[] = [];
      for (const op of userOps()) {
        const granted = op.access === 'authenticated' || can(role, op.access as Permission);
        const answer = await send(op, { authorization: bearer(accessToken), caller, userId: await targetFor(op) });
        if (granted) {
          if (answer.status === 401 || answer.status === 403 || answer.status >= 500) {
            failures.push(`${op.key} (${op.access}, granted): ${describeAnswer(answer)}`);
          } else if (errorCode(answer) === 'VALIDATION_FAILED') {
            failures.push(`${op.key}: the generated request did not pass validation; add a BODY_FIXTURES entry`);
          }
        } else {
          const problems = envelopeProblems(answer);
          if (answer.status !== 403 || errorCode(answer) !== 'FORBIDDEN') problems.unshift('not 403 FORBIDDEN');
          if (problems.length > 0) {
            failures.push(`${op.key} (${op.access}, denied): ${problems.join('; ')} (${describeAnswer(answer)})`);
          }
        }
      }
      expect(failures).toEqual([]);
    },
  );

  it('cron routes take CRON_SECRET and refuse every user token with 401, even an md one', async () => {
    const cronOps = operations.filter((o) => o.access === 'cron');
    const failures: string[] = [];
    for (const role of ROLES) {
      const caller = await seedUser(database.db, role);
      const { accessToken } = await login(caller);
      for (const op of cronOps) {
        const answer = await send(op, { authorization: bearer(accessToken), caller });
        const problems = unauthorizedProblems(answer);
        if (problems.length > 0) failures.push(`${role} on ${op.key}: ${problems.join('; ')}`);
      }
    }
    for (const op of cronOps) {
      const answer = await send(op, { authorization: bearer(CRON_SECRET) });
      if ([401, 403].includes(answer.status) || answer.status >= 500) {
        failures.push(`CRON_SECRET on ${op.key}: ${describeAnswer(answer)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('the Telegram webhook takes only TELEGRAM_WEBHOOK_SECRET in its header: no header, a wrong one, CRON_SECRET or an md token get 401', async () => {
    const telegramOps = operations.filter((o) => o.access === 'telegram');
    expect(telegramOps.map((o) => o.key)).toEqual(['POST /api/telegram/webhook']);
    const md = await seedUser(database.db, 'md');
    const mdToken = bearer((await login(md)).accessToken);
    const update = JSON.stringify({ update_id: 1 });
    const post = (headers: Record<string, string>) =>
      readAnswer(
        harness.app.request('/api/telegram/webhook', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: update,
        }),
      );
    const failures: string[] = [];
    for (const [name, headers] of [
      ['no header', {}],
      ['a wrong secret', { 'x-telegram-bot-api-secret-token': `${TELEGRAM_WEBHOOK_SECRET}x` }],
      ['a prefix of the secret', { 'x-telegram-bot-api-secret-token': TELEGRAM_WEBHOOK_SECRET.slice(0, -1) }],
      ['CRON_SECRET as a bearer', { authorization: bearer(CRON_SECRET) }],
      ['CRON_SECRET in the header', { 'x-telegram-bot-api-secret-token': CRON_SECRET }],
      ['an md token', { authorization: mdToken }],
    ] as [string, Record<string, string>][]) {
      const answer = await post(headers);
      const problems = envelopeProblems(answer);
      if (answer.status !== 401 || errorCode(answer) !== 'UNAUTHORIZED') problems.unshift(`status ${answer.status}`);
      if (problems.length > 0) failures.push(`${name}: ${problems.join('; ')}`);
    }
    expect(failures).toEqual([]);
    expect((await post({ 'x-telegram-bot-api-secret-token': TELEGRAM_WEBHOOK_SECRET })).status).toBe(200);
  });

  it('public routes answer without a token, and a bad token does not make them refuse', async () => {
    const failures: string[] = [];
    const publicRequests: [string, () => Promise<Answer>, () => Promise<Answer>][] = [
      ...operations
        .filter((o) => o.access === 'public')
        .map((op): [string, () => Promise<Answer>, () => Promise<Answer>] => [
          op.key,
          () => send(op),
          () => send(op, { authorization: 'Bearer not.a.jwt' }),
        ]),
      ...Object.entries(NON_OPENAPI_ROUTES).map(
        ([key, path]): [string, () => Promise<Answer>, () => Promise<Answer>] => [
          key,
          () => readAnswer(harness.app.request(path)),
          () => readAnswer(harness.app.request(path, { headers: { authorization: 'Bearer not.a.jwt' } })),
        ],
      ),
    ];
    for (const [key, ...requests] of publicRequests) {
      for (const request of requests) {
        const answer = await request();
        if ([401, 403].includes(answer.status) || answer.status >= 500)
          failures.push(`${key}: ${describeAnswer(answer)}`);
      }
    }
    expect(publicRequests.length).toBeGreaterThan(Object.keys(NON_OPENAPI_ROUTES).length);
    expect(failures).toEqual([]);
  });

  it('a role changed in the database applies to the same token on the next request, both ways', async () => {
    const op = operations.find((o) => o.method === 'GET' && o.access in PERMISSIONS && o.pathParams.length === 0);
    if (!op) throw new Error('no GET route behind a permission to try the role change on');
    const permission = op.access as Permission;
    const lacking = ROLES.find((r) => !can(r, permission));
    const having = ROLES.find((r) => can(r, permission));
    if (!lacking || !having) throw new Error(`every role or no role may ${permission}`);
    const user = await seedUser(database.db, lacking);
    const token = bearer((await login(user)).accessToken);
    const setRole = (role: Role) => database.db.updateTable('users').set({ role }).where('id', '=', user.id).execute();

    expect((await send(op, { authorization: token, caller: user })).status).toBe(403);
    await setRole(having);
    expect((await send(op, { authorization: token, caller: user })).status).toBe(200);
    await setRole(lacking);
    expect((await send(op, { authorization: token, caller: user })).status).toBe(403);
  });

  it("a deleted user's token is refused with 401 on every protected route", async () => {
    const user = await seedUser(database.db, 'md');
    const token = bearer((await login(user)).accessToken);
    expect((await readAnswer(harness.app.request('/api/auth/me', { headers: { authorization: token } }))).status).toBe(
      200,
    );
    await database.db.deleteFrom('users').where('id', '=', user.id).execute();
    const failures: string[] = [];
    for (const op of userOps()) {
      const problems = unauthorizedProblems(await send(op, { authorization: token, caller: user }));
      if (problems.length > 0) failures.push(`${op.key}: ${problems.join('; ')}`);
    }
    expect(failures).toEqual([]);
  });

  it("a deactivated user's token is refused with 401 on every protected route", async () => {
    const user = await seedUser(database.db, 'md');
    const token = bearer((await login(user)).accessToken);
    await database.db.updateTable('users').set({ is_active: false }).where('id', '=', user.id).execute();
    const failures: string[] = [];
    for (const op of userOps()) {
      const problems = unauthorizedProblems(await send(op, { authorization: token, caller: user }));
      if (problems.length > 0) failures.push(`${op.key}: ${problems.join('; ')}`);
    }
    expect(failures).toEqual([]);
  });
});
