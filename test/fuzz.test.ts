import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBase64Url, utf8 } from '../lib/auth/crypto.ts';
import { ROLES } from '../lib/auth/permissions.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { type Answer, envelopeProblems, readAnswer } from './support/envelope.ts';
import { startTestServer, type TestServer } from './support/node-server.ts';
import {
  fillPath,
  type JsonSchema,
  type Operation,
  readOperations,
  sampleBody,
  samplePathValue,
} from './support/openapi-operations.ts';
import { waitFor } from './support/processes.ts';
import { rawRequest } from './support/raw-http.ts';
import { startTestS3, type TestS3 } from './support/s3.ts';
import { changedTables, tableDigests } from './support/table-digest.ts';
import { seedUser } from './support/users.ts';

// Property-based fuzzing of every operation the OpenAPI document declares (a route added later is
// fuzzed without editing this file), over real HTTP against the real Node server: malformed
// bodies, query strings, path values and headers, as anonymous, as each role and with the cron
// secret. Whatever arrives: never a 5xx, every refusal is the JSON envelope, nothing stored
// changes when a request is refused, and the server logs no unexpected exception.
//
// Seeded and bounded for CI: FUZZ_RUNS cases per operation and property (default 10), FUZZ_SEED
// to replay (a failure prints the seed and fast-check's path).

const RUNS = Number(process.env.FUZZ_RUNS ?? 10);
const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
/** Each property sends RUNS requests per operation (plus shrinking on a failure): a budget, not a timing. */
const PROPERTY_TIMEOUT_MS = 120_000 + RUNS * 30_000;
const CRON_SECRET = 'fuzz-cron-secret-0123456789abcdef';
/** The Telegram webhook on (unset it answers 503 by design: off rather than open). */
const TELEGRAM_WEBHOOK_SECRET = 'fuzz-telegram-secret-0123456789';
/** Small enough that the huge strings below sometimes cross it (413), large enough that most do not. */
const BODY_LIMIT = 256 * 1024;
/** Refusals that change a table by design: a wrong password is counted against the address and account. */
const COUNTED_REFUSALS: Record<string, string[]> = { 'POST /api/auth/login': ['login_throttles'] };

type Caller = 'anonymous' | 'cron' | (typeof ROLES)[number];
const CALLERS: Caller[] = ['anonymous', 'cron', ...ROLES];

/** One generated request. Huge values stay out of the report: see describeRequest. */
type FuzzRequest = {
  caller: Caller;
  /** Path and query, as sent. */
  target: string;
  headers: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
  /** Wrong in a way every route taking a JSON body must refuse (not just survive). */
  mustRefuse: boolean;
};

// --- values -----------------------------------------------------------------------------------

const SPECIAL_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  '\u202e\u0041',
  '\ufeff',
  '💥🧨',
  "' or '1'='1",
  '"; drop table users; --',
  '%00',
  '\\',
  `\${7*7}{{7*7}}`,
  '__proto__',
  'constructor',
  'NaN',
  '-0',
  '1e400',
  'null',
  '../../etc/passwd',
  '2026-13-45T25:61:00Z',
  '0000-00-00T00:00:00Z',
  '+275760-09-13T00:00:00.001Z',
  '00000000-0000-0000-0000-000000000000',
];

const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(...SPECIAL_STRINGS),
  fc.integer({ min: 1_000, max: 300_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 100, max: 20_000 }).map((n) => '\u0000'.repeat(n)),
);

const nastyNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(-1, 0, 1.5, 2 ** 31, 2 ** 53 + 1, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER),
);

const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  nastyNumber,
  fc.boolean(),
  fc.constant(null),
  fc.array(nastyString, { maxLength: 5 }),
  fc.dictionary(nastyString, nastyString, { maxKeys: 5 }),
  fc.jsonValue({ maxDepth: 3 }),
);

const nastyKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', 'password_hash', 'role', 'isActive', ''),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

/** JSON text no JSON.stringify would write: numbers past double range, escapes of lone surrogates and NUL. */
const rawJsonFragment = fc.constantFrom(
  '1e400',
  '-0',
  '123456789012345678901234567890',
  '"\\u0000"',
  '"\\ud800"',
  '"\\udfff\\ud800"',
  '"\\x41"',
  'NaN',
  'undefined',
  "'single'",
);

/** Deeply nested JSON text, up to 200,000 levels (parsers that recurse overflow long before). */
const deepJson = fc
  .tuple(fc.integer({ min: 100, max: 200_000 }), fc.constantFrom('array', 'object'))
  .map(([depth, kind]) =>
    kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
  );

/** Text that is not one JSON value: truncated, with trailing garbage, or random characters. */
const invalidJsonText = (valid: string) =>
  fc.oneof(
    fc.nat({ max: Math.max(0, valid.length - 1) }).map((n) => valid.slice(0, n)),
    fc.string({ minLength: 1, maxLength: 10 }).map((junk) => `${valid}${junk === ' ' ? '}' : junk}`),
    fc.constantFrom('{"a": ', "{'a': 1}", '{"a":1,}', '{,}', '[', '{"a":1}}', '\u0000{}', '{}\u0000'),
  );

/** Characters fetch lets a header value carry (no control characters or DEL; Latin-1 only). The raw property sends the rest. */
const headerValue = (maxLength: number) =>
  fc
    .string({
      unit: fc
        .integer({ min: 0x20, max: 0xff })
        .filter((code) => code !== 0x7f)
        .map((code) => String.fromCharCode(code)),
      maxLength,
    })
    .map((v) => v.trim());

const CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/jsonx',
  'application/vnd.api+json',
  'application/json, text/plain',
  '*/*',
];

/** Percent-encoding that decodes to nothing valid, NULs, traversal, encoded slashes. */
const RAW_PATH_PIECES = ['%', '%zz', '%E0%A4', '%C0%80', '%00', '%ff', '..', '%2e%2e', '%2F', '%5C', ';', '%0d%0a'];

// --- the suite ---------------------------------------------------------------------------------

describe.each(databaseKinds())('fuzzing every operation of the OpenAPI document (%s)', (kind) => {
  let database: TestDatabase;
  // Object storage too: the backup routes need it to reach their handlers (else 503 by design).
  let s3: TestS3;
  let server: TestServer;
  let operations: Operation[];
  /** Authorization header per caller (anonymous: none). */
  const authorization = new Map<Caller, string>();
  /** A user the fuzzed requests may act on (never one of the callers). */
  let victimId: string;
  let snapshot: () => Promise<Record<string, string>>;
  let baseline: Record<string, string>;

  beforeAll(async () => {
    [database, s3] = await Promise.all([createTestDatabase(kind), startTestS3()]);
    server = await startTestServer({
      DATABASE_URL: database.url,
      ...s3.env,
      CRON_SECRET,
      TELEGRAM_WEBHOOK_SECRET,
      BODY_LIMIT: String(BODY_LIMIT),
      // The API rate limit on (high) so its token parsing is fuzzed too; its counters are excluded below.
      THROTTLE_LIMIT: '1000000',
    });
    operations = await readOperations({ request: (path, init) => server.request(path, init) });
    for (const role of ROLES) {
      const user = await seedUser(database.db, role);
      const session = await server.login('127.0.0.1', user.email, user.password);
      if (session.status !== 200) throw new Error(`login as ${role}: ${session.status}`);
      authorization.set(role, `Bearer ${session.body.accessToken}`);
    }
    authorization.set('cron', `Bearer ${CRON_SECRET}`);
    victimId = (await seedUser(database.db, 'agent')).id;
    // The request log records every request and the rate limiter counts them: both by design.
    snapshot = await tableDigests(database.db, ['request\\_log%', 'rate\\_limit\\_counters']);
    baseline = await snapshot();
  });
  afterAll(async () => {
    await server?.close();
    await Promise.all([database?.drop(), s3?.stop()]);
  });

  const caller = fc.constantFrom(...CALLERS);
  const validPath = (op: Operation) => fillPath(op, (p) => samplePathValue(p, victimId));
  const takesJson = (op: Operation) => op.body?.type === 'object';
  const validBodyText = (op: Operation) => JSON.stringify(op.body ? sampleBody(op.body) : {});
  /** The caller's Authorization, and a JSON content type where a body can go. */
  const headersFor = (who: Caller, op: Operation): Record<string, string> => ({
    ...(canHaveBody(op) ? { 'content-type': 'application/json' } : {}),
    ...(authorization.has(who) ? { authorization: authorization.get(who) as string } : {}),
  });
  const canHaveBody = (op: Operation) => op.method !== 'GET' && op.method !== 'HEAD';

  /** Sends one request; every problem with the answer, as text (empty when it held the contract). */
  async function problemsOf(op: Operation, request: FuzzRequest): Promise<string[]> {
    const init: RequestInit = {
      method: op.method,
      headers: request.headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(20_000),
      ...(request.body === undefined ? {} : { body: request.body }),
    };
    let answer: Answer;
    try {
      answer = await readAnswer(server.request(request.target, init));
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause;
      return [`no answer: ${(error as Error).message}${cause ? ` (${cause.message})` : ''}`];
    }
    return judge(op.key, answer, request.mustRefuse);
  }

  /** The contract for any answer; compares the database with the last snapshot and moves it on. */
  async function judge(opKey: string, answer: Answer, mustRefuse: boolean): Promise<string[]> {
    const problems: string[] = [];
    if (answer.status >= 500) problems.push(`status ${answer.status}`);
    if (mustRefuse && answer.status < 400) problems.push(`accepted (${answer.status}) what must be refused`);
    // An accepted request may have started background work (a backup runs after its 202): the
    // next baseline is taken once that has finished.
    const after = answer.status >= 400 ? await snapshot() : await settledSnapshot();
    if (answer.status >= 400) {
      problems.push(...envelopeProblems(answer));
      const allowed = COUNTED_REFUSALS[opKey] ?? [];
      const changed = changedTables(baseline, after).filter((t) => !allowed.includes(t));
      if (changed.length > 0) problems.push(`a refused request changed ${changed.join(', ')}`);
    }
    baseline = after;
    return problems.length > 0 ? [...problems, `answer ${answer.status} ${answer.text.slice(0, 200)}`] : [];
  }

  /** A snapshot once no job holds a lease and two snapshots in a row agree. */
  async function settledSnapshot(): Promise<Record<string, string>> {
    let previous = await snapshot();
    return waitFor(
      async () => {
        const leases = await database.db.selectFrom('job_locks').select('job_name').execute();
        const current = await snapshot();
        const settled = leases.length === 0 && changedTables(previous, current).length === 0;
        previous = current;
        return settled && current;
      },
      60_000,
      'background work started by an accepted request to finish',
    );
  }

  /**
   * Runs the property for each operation it applies to; collects every failing operation with its
   * shrunk counterexample, seed and path (so one failure does not hide the others).
   */
  async function fuzzEach(
    applies: (op: Operation) => boolean,
    requests: (op: Operation) => fc.Arbitrary<FuzzRequest>,
  ): Promise<void> {
    const targets = operations.filter(applies);
    expect(targets.length, 'operations this property applies to').toBeGreaterThan(0);
    const failures: string[] = [];
    for (const [index, op] of targets.entries()) {
      // What each failing run found, for the report (a re-run may not fail the same way).
      const found = new WeakMap<FuzzRequest, string[]>();
      const details = await fc.check(
        fc.asyncProperty(requests(op), async (request) => {
          const problems = await problemsOf(op, request);
          if (problems.length > 0) found.set(request, problems);
          return problems.length === 0;
        }),
        { numRuns: RUNS, seed: SEED + index },
      );
      if (details.failed) {
        const example = details.counterexample?.[0] as FuzzRequest | undefined;
        const problems = (example && found.get(example)) ?? [];
        failures.push(
          `${op.key}: ${problems.join('; ')}\n    request: ${example ? describeRequest(op, example) : '?'}\n    replay: FUZZ_SEED=${SEED} seed=${details.seed} path=${details.counterexample ? details.counterexamplePath : ''}${details.errorInstance ? `\n    error: ${String(details.errorInstance)}` : ''}`,
        );
      }
    }
    expect(failures).toEqual([]);
  }

  it(
    'malformed JSON bodies: wrong types, huge and odd strings, deep nesting, extra fields, invalid JSON, raw bytes',
    async () => {
      await fuzzEach(canHaveBody, (op) => {
        const valid = op.body ? sampleBody(op.body) : {};
        const properties = Object.keys((op.body as JsonSchema | undefined)?.properties ?? {});
        const strict = takesJson(op);
        const jsonBody = (who: Caller, text: string | Uint8Array<ArrayBuffer>, mustRefuse: boolean): FuzzRequest => ({
          caller: who,
          target: validPath(op),
          headers: headersFor(who, op),
          body: text,
          mustRefuse: strict && mustRefuse,
        });
        const field = properties.length > 0 ? fc.constantFrom(...properties) : nastyKey;
        return fc.oneof(
          // One field set to anything (may happen to be valid: only survival is required).
          fc
            .tuple(caller, field, nastyValue)
            .map(([who, key, value]) => jsonBody(who, JSON.stringify({ ...valid, [key]: value }), false)),
          // A field written as JSON text no serializer produces.
          fc
            .tuple(caller, field, rawJsonFragment)
            .map(([who, key, raw]) => jsonBody(who, withRawMember(valid, key, raw), false)),
          // An extra member next to valid ones (bodies are strict), written by hand so __proto__ stays an own key.
          fc
            .tuple(caller, nastyKey, nastyValue)
            .filter(([, key]) => !properties.includes(key))
            .map(([who, key, value]) =>
              jsonBody(who, withRawMember(valid, key, JSON.stringify(value) ?? 'null'), true),
            ),
          // The whole body some other JSON value, or nested 100 to 200,000 deep.
          fc.tuple(caller, nastyValue).map(([who, value]) => jsonBody(who, JSON.stringify(value) ?? 'null', false)),
          fc.tuple(caller, deepJson).map(([who, text]) => jsonBody(who, text, true)),
          fc
            .tuple(caller, field, deepJson)
            .map(([who, key, text]) => jsonBody(who, withRawMember(valid, key, text), true)),
          // Not JSON at all: truncated, trailing garbage, random bytes (invalid UTF-8, NULs).
          fc.tuple(caller, invalidJsonText(validBodyText(op))).map(([who, text]) => jsonBody(who, text, true)),
          fc
            .tuple(
              caller,
              fc.uint8Array({ minLength: 1, maxLength: 2000 }).map((bytes) => new Uint8Array(bytes)),
            )
            .map(([who, bytes]) => jsonBody(who, bytes, false)),
          // A valid body under another content type, or none.
          fc.tuple(caller, fc.oneof(fc.constantFrom(...CONTENT_TYPES), headerValue(60))).map(([who, type]) => {
            const request = jsonBody(who, validBodyText(op), false);
            if (type) request.headers['content-type'] = type;
            else delete request.headers['content-type'];
            return request;
          }),
        );
      });
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'malformed query strings: declared parameters with wrong, huge and undecodable values, unknown and repeated ones',
    async () => {
      await fuzzEach(
        () => true,
        (op) => {
          const declared = op.queryParams.map((p) => p.name);
          const key = declared.length > 0 ? fc.oneof(fc.constantFrom(...declared), nastyKey) : nastyKey;
          const value = fc.oneof(
            nastyString.map(encodeComponent),
            fc.constantFrom(...RAW_PATH_PIECES),
            fc.constantFrom('0', '-1', '1e3', '0x10', '1.5', '99999999999999999999', 'true', '[]', '{}'),
          );
          const pair = fc.tuple(key, value).map(([k, v]) => `${encodeComponent(k)}=${v}`);
          return fc
            .tuple(
              caller,
              fc.array(fc.oneof(pair, fc.constantFrom('&', '=', '==', 'a', '%')), { minLength: 1, maxLength: 6 }),
            )
            .map(([who, pairs]) => ({
              caller: who,
              target: `${validPath(op)}?${pairs.join('&')}`,
              headers: headersFor(who, op),
              ...(canHaveBody(op) && takesJson(op) ? { body: validBodyText(op) } : {}),
              mustRefuse: false,
            }));
        },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'malformed path values: undecodable, NULs, traversal, encoded slashes, huge',
    async () => {
      await fuzzEach(
        (op) => op.pathParams.length > 0,
        (op) =>
          fc
            .tuple(
              caller,
              fc.constantFrom(...op.pathParams.map((p) => p.name)),
              fc.oneof(nastyString.map(encodeComponent), fc.constantFrom(...RAW_PATH_PIECES)),
            )
            .map(([who, name, value]) => ({
              caller: who,
              target: op.pathParams.reduce(
                (path, p) =>
                  path.replace(
                    `:${p.name}`,
                    p.name === name ? value : encodeURIComponent(samplePathValue(p, victimId)),
                  ),
                op.path,
              ),
              headers: headersFor(who, op),
              ...(canHaveBody(op) && takesJson(op) ? { body: validBodyText(op) } : {}),
              mustRefuse: false,
            })),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'malformed headers: forged and broken Authorization, bad X-Request-Id and X-Forwarded-For, large headers',
    async () => {
      await fuzzEach(
        () => true,
        (op) => {
          const tokenOf = (who: Caller) => authorization.get(who) ?? 'Bearer x';
          const brokenAuthorization = fc.oneof(
            headerValue(200),
            headerValue(200).map((v) => `Bearer ${v}`),
            fc.constantFrom(
              'Bearer',
              'Bearer ',
              'bearer',
              'Basic',
              'Basic Og==',
              'Bearer a.b.c',
              'Bearer ..',
              'Token x',
            ),
            fc
              .tuple(fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 }))
              .map(
                ([header, payload]) =>
                  `Bearer ${toBase64Url(utf8(JSON.stringify(header) ?? ''))}.${toBase64Url(utf8(JSON.stringify(payload) ?? ''))}.sig`,
              ),
            fc
              .tuple(fc.constantFrom(...CALLERS), fc.nat(), fc.constantFrom('flip', 'cut', 'append'))
              .map(([who, at, how]) => {
                const token = tokenOf(who);
                const i = 7 + (at % Math.max(1, token.length - 7));
                if (how === 'cut') return token.slice(0, i);
                if (how === 'append') return `${token}x`;
                return `${token.slice(0, i)}${token[i] === 'A' ? 'B' : 'A'}${token.slice(i + 1)}`;
              }),
            fc.integer({ min: 1_000, max: 12_000 }).map((n) => `Bearer ${'a'.repeat(n)}`),
          );
          return fc
            .record({
              who: caller,
              auth: fc.option(brokenAuthorization, { nil: undefined }),
              requestId: fc.option(
                fc.oneof(
                  headerValue(100),
                  fc.integer({ min: 200, max: 8_000 }).map((n) => 'r'.repeat(n)),
                ),
                {
                  nil: undefined,
                },
              ),
              forwardedFor: fc.option(
                fc.oneof(headerValue(100), fc.constantFrom('::1, 1.2.3.4', 'unknown', '999.1.1.1', ', ,')),
                {
                  nil: undefined,
                },
              ),
              padding: fc.option(fc.integer({ min: 1_000, max: 12_000 }), { nil: undefined }),
            })
            .map(({ who, auth, requestId, forwardedFor, padding }) => {
              const headers = headersFor(who, op);
              if (auth !== undefined) headers.authorization = auth;
              if (requestId !== undefined) headers['x-request-id'] = requestId;
              if (forwardedFor !== undefined) headers['x-forwarded-for'] = forwardedFor;
              if (padding !== undefined) headers['x-padding'] = 'p'.repeat(padding);
              return {
                caller: who,
                target: validPath(op),
                headers,
                ...(canHaveBody(op) && takesJson(op) ? { body: validBodyText(op) } : {}),
                mustRefuse: false,
              };
            });
        },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'requests the HTTP parser refuses (NULs and control bytes, oversized headers and URLs, broken framing) get the envelope',
    async () => {
      const op = operations.find((o) => o.key === 'GET /api/auth/me') ?? operations[0];
      if (!op) throw new Error('no operation');
      const controlByte = fc.oneof(
        fc.integer({ min: 0, max: 0x1f }).filter((b) => b !== 0x0a && b !== 0x0d && b !== 0x09),
        fc.constant(0x7f),
      );
      const bytesWith = fc.tuple(fc.string({ maxLength: 20 }), controlByte, fc.string({ maxLength: 20 }));
      const cases = fc.oneof(
        bytesWith.map(
          ([a, b, c]) => `GET /api/auth/me HTTP/1.1\r\nHost: x\r\nX-Bad: ${a}${String.fromCharCode(b)}${c}\r\n\r\n`,
        ),
        bytesWith.map(([a, b, c]) => `GET /api/${a}${String.fromCharCode(b)}${c} HTTP/1.1\r\nHost: x\r\n\r\n`),
        bytesWith.map(
          ([a, b, c]) => `GET /api/auth/me HTTP/1.1\r\nHost: x\r\nX-${a}${String.fromCharCode(b)}${c}: 1\r\n\r\n`,
        ),
        fc
          .integer({ min: 17_000, max: 80_000 })
          .map((n) => `GET /api/auth/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(n)}\r\n\r\n`),
        fc
          .integer({ min: 17_000, max: 80_000 })
          .map((n) => `GET /api/health?${'q'.repeat(n)} HTTP/1.1\r\nHost: x\r\n\r\n`),
        fc.constantFrom(
          'GET /api/health HTTP/1.1\nHost: x\n\n',
          'GET /api/health HTTP/9.9\r\nHost: x\r\n\r\n',
          'G\u00c9T /api/health HTTP/1.1\r\nHost: x\r\n\r\n',
          'GET /api/health HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n',
          'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
          'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n0\r\n\r\n',
          'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
          'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
          'GET /api/health HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n',
          '\u0000\u0000\u0000\r\n\r\n',
          'GET\r\n\r\n',
        ),
      );
      const problemsOf = async (text: string) => {
        const answer = await rawRequest(server.port, Buffer.from(text, 'latin1'));
        return answer ? judge(op.key, answer, false) : ['the server closed the connection without an answer'];
      };
      const details = await fc.check(
        fc.asyncProperty(cases, async (text) => (await problemsOf(text)).length === 0),
        { numRuns: RUNS * 4, seed: SEED },
      );
      const example = details.counterexample?.[0];
      const failure = example
        ? `${(await problemsOf(example)).join('; ')} for ${JSON.stringify(example.slice(0, 300))} (seed ${details.seed}, path ${details.counterexamplePath})`
        : details.errorInstance
          ? String(details.errorInstance)
          : '';
      expect(failure).toBe('');
    },
    PROPERTY_TIMEOUT_MS,
  );

  it('logged no unexpected exception while fuzzing', () => {
    expect(
      server.logs.filter((entry) => entry.level === 'error').map((entry) => JSON.stringify(entry).slice(0, 400)),
    ).toEqual([]);
  });
});

/** encodeURIComponent, with lone surrogates (which it cannot encode) as U+FFFD: what a client could send. */
function encodeComponent(text: string): string {
  return encodeURIComponent(
    text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'),
  );
}

/** JSON object text: the other members as they are, `key` written as the raw text given. */
function withRawMember(members: Record<string, unknown>, key: string, raw: string): string {
  const others = Object.entries(members)
    .filter(([k]) => k !== key)
    .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  return `{${[...others, `${JSON.stringify(key)}:${raw}`].join(',')}}`;
}

/** A request for a failure report: the caller, target and headers shortened, the body's length and head. */
function describeRequest(op: Operation, request: FuzzRequest): string {
  const short = (text: string) => (text.length > 160 ? `${text.slice(0, 160)}… (${text.length} chars)` : text);
  const body =
    request.body === undefined
      ? 'no body'
      : typeof request.body === 'string'
        ? `body ${JSON.stringify(short(request.body))}`
        : `body ${request.body.length} bytes [${[...request.body.subarray(0, 40)].join(',')}…]`;
  const headers = Object.entries(request.headers)
    .map(([k, v]) => `${k}: ${JSON.stringify(short(v))}`)
    .join(', ');
  return `${request.caller} ${op.method} ${short(request.target)} {${headers}} ${body}`;
}
