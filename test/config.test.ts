import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../lib/config.ts';
import { ROOT, scratchDir } from './support/paths.ts';
import { spawnProject } from './support/processes.ts';

const SECRET = 'test-secret-test-secret-test-secret-0123';
const BASE = { JWT_SECRET: SECRET };

/** The connection parameters pg takes from a URL (constructing a Client does not connect). */
function pgReads(url: string | undefined) {
  const client = new pg.Client({ connectionString: url });
  return {
    host: client.host,
    port: client.port,
    user: client.user,
    password: client.password,
    database: client.database,
  };
}

/** The variables a ConfigError names, or [] when the env parses. */
function problemVariables(env: Record<string, unknown>): string[] {
  try {
    parseConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => p.variable);
    throw error;
  }
}

describe('parseConfig', () => {
  it('defaults to port 3000 on 0.0.0.0, a 10 MB body limit and info logs', () => {
    const config = parseConfig(BASE);
    expect(config).toMatchObject({ nodeEnv: 'development', host: '0.0.0.0', port: 3000, logLevel: 'info' });
    expect(config.bodyLimit).toBe(10 * 1024 * 1024);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.s3).toBeUndefined();
  });

  it('migrates on start in development and test, not in production, unless MIGRATE_ON_START says so', () => {
    expect(parseConfig({ ...BASE, NODE_ENV: 'development' }).migrateOnStart).toBe(true);
    expect(parseConfig({ ...BASE, NODE_ENV: 'test' }).migrateOnStart).toBe(true);
    expect(parseConfig({ ...BASE, NODE_ENV: 'production' }).migrateOnStart).toBe(false);
    expect(parseConfig({ ...BASE, NODE_ENV: 'production', MIGRATE_ON_START: 'true' }).migrateOnStart).toBe(true);
    expect(parseConfig({ ...BASE, NODE_ENV: 'development', MIGRATE_ON_START: 'no' }).migrateOnStart).toBe(false);
  });

  it('composes DATABASE_HOST/PORT/USERNAME/PASSWORD/NAME into a URL pg reads back to the same parts', () => {
    const password = 'p@ss:w/rd#?&=% ü';
    const config = parseConfig({
      ...BASE,
      DATABASE_HOST: 'db.internal',
      DATABASE_PORT: '6543',
      DATABASE_USERNAME: 'vendhub_user',
      DATABASE_PASSWORD: password,
      DATABASE_NAME: 'vendhub_production',
      DATABASE_SSL: 'true',
    });
    expect(pgReads(config.databaseUrl)).toEqual({
      host: 'db.internal',
      port: 6543,
      user: 'vendhub_user',
      password,
      database: 'vendhub_production',
    });
    expect(config.databaseSsl).toBe(true);
  });

  it('brackets an IPv6 DATABASE_HOST and passes a socket directory the way pg reads it', () => {
    const parts = { ...BASE, DATABASE_NAME: 'opsbase' };
    expect(pgReads(parseConfig({ ...parts, DATABASE_HOST: '::1' }).databaseUrl).host).toBe('::1');
    expect(pgReads(parseConfig({ ...parts, DATABASE_HOST: '[::1]' }).databaseUrl).host).toBe('::1');
    expect(pgReads(parseConfig({ ...parts, DATABASE_HOST: '/var/run/postgresql' }).databaseUrl).host).toBe(
      '/var/run/postgresql',
    );
  });

  it.each(['db host', 'user@db', 'db.internal:5432', 'db/x'])(
    'refuses DATABASE_HOST %s rather than connecting somewhere else',
    (host) => {
      expect(problemVariables({ ...BASE, DATABASE_HOST: host, DATABASE_NAME: 'opsbase' })).toEqual(['DATABASE_HOST']);
    },
  );

  it('composes with user postgres and port 5432 when only DATABASE_HOST and DATABASE_NAME are set', () => {
    const config = parseConfig({ ...BASE, DATABASE_HOST: 'localhost', DATABASE_NAME: 'opsbase' });
    expect(config.databaseUrl).toBe('postgresql://postgres@localhost:5432/opsbase');
  });

  it('requires DATABASE_NAME when DATABASE_HOST is set', () => {
    expect(problemVariables({ ...BASE, DATABASE_HOST: 'localhost' })).toEqual(['DATABASE_NAME']);
  });

  it('prefers DATABASE_URL over the DATABASE_* parts', () => {
    const config = parseConfig({
      ...BASE,
      DATABASE_URL: 'postgres://app:secret@primary:5432/app',
      DATABASE_HOST: 'other',
      DATABASE_NAME: 'other',
    });
    expect(config.databaseUrl).toBe('postgres://app:secret@primary:5432/app');
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['on', true],
    ['false', false],
    ['0', false],
    ['No', false],
    ['off', false],
  ])('reads the boolean %s as %s', (value, expected) => {
    expect(parseConfig({ ...BASE, DATABASE_SSL: value }).databaseSsl).toBe(expected);
    expect(parseConfig({ ...BASE, S3_ENDPOINT: 'http://s3', S3_FORCE_PATH_STYLE: value }).s3?.forcePathStyle).toBe(
      expected,
    );
    expect(parseConfig({ ...BASE, MIGRATE_ON_START: value }).migrateOnStart).toBe(expected);
    expect(parseConfig({ ...BASE, ENABLE_SCHEDULED_TASKS: value }).jobs.scheduler).toBe(expected);
  });

  it.each(['DATABASE_SSL', 'S3_FORCE_PATH_STYLE', 'MIGRATE_ON_START', 'ENABLE_SCHEDULED_TASKS'])(
    'refuses a boolean it cannot read and names %s',
    (variable) => {
      expect(() => parseConfig({ ...BASE, [variable]: 'maybe' })).toThrow(ConfigError);
      expect(problemVariables({ ...BASE, [variable]: 'maybe' })).toEqual([variable]);
    },
  );

  it.each([
    ['512kb', 512 * 1024],
    ['10mb', 10 * 1024 * 1024],
    ['10MB', 10 * 1024 * 1024],
    ['1.5mb', 1.5 * 1024 * 1024],
    ['1gb', 1024 ** 3],
    ['1048576', 1_048_576],
    [2048, 2048],
  ])('reads BODY_LIMIT %s as %i bytes', (value, bytes) => {
    expect(parseConfig({ ...BASE, BODY_LIMIT: value }).bodyLimit).toBe(bytes);
  });

  it('refuses a BODY_LIMIT that is not a size', () => {
    expect(problemVariables({ ...BASE, BODY_LIMIT: 'ten megs' })).toEqual(['BODY_LIMIT']);
    expect(problemVariables({ ...BASE, BODY_LIMIT: '10tb' })).toEqual(['BODY_LIMIT']);
  });

  it('refuses a PORT that is not a port number and names it', () => {
    expect(problemVariables({ ...BASE, PORT: 'abc' })).toEqual(['PORT']);
    expect(problemVariables({ ...BASE, PORT: '70000' })).toEqual(['PORT']);
    expect(problemVariables({ ...BASE, PORT: '80.5' })).toEqual(['PORT']);
  });

  it('ignores variables it does not know, such as the deployment plans’ others', () => {
    const withUnknown = parseConfig({
      ...BASE,
      API_PREFIX: 'api',
      REDIS_HOST: 'localhost',
      DATABASE_SYNCHRONIZE: 'false',
      SENTRY_DSN: 'not even a url',
      NEXT_PUBLIC_APP_URL: 'https://workspace.example.com',
    });
    expect(withUnknown).toEqual(parseConfig(BASE));
  });

  it('treats empty and blank values as unset', () => {
    const blank = parseConfig({
      ...BASE,
      PORT: '',
      HOST: ' ',
      LOG_LEVEL: '',
      BODY_LIMIT: '',
      DATABASE_URL: '',
      DATABASE_HOST: '  ',
      S3_ENDPOINT: '',
      S3_ACCESS_KEY_ID: '',
      MIGRATE_ON_START: '',
      CRON_SECRET: '',
      CORS_ORIGIN: '',
    });
    expect(blank).toEqual(parseConfig(BASE));
  });

  it('requires S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY together', () => {
    const s3 = { ...BASE, S3_ENDPOINT: 'http://127.0.0.1:9000' };
    expect(problemVariables({ ...s3, S3_ACCESS_KEY_ID: 'key' })).toEqual(['S3_SECRET_ACCESS_KEY']);
    expect(problemVariables({ ...s3, S3_SECRET_ACCESS_KEY: 'secret' })).toEqual(['S3_ACCESS_KEY_ID']);
    const both = parseConfig({ ...s3, S3_ACCESS_KEY_ID: 'key', S3_SECRET_ACCESS_KEY: 'secret' });
    expect(both.s3).toMatchObject({ endpoint: 'http://127.0.0.1:9000', accessKeyId: 'key', secretAccessKey: 'secret' });
  });

  it('reports every bad variable at once', () => {
    expect(problemVariables({ PORT: 'abc', DATABASE_PORT: 'x' }).sort()).toEqual([
      'DATABASE_PORT',
      'JWT_SECRET',
      'PORT',
    ]);
  });
});

// The entry points load ./.env when present: run them from an empty scratch directory (inside
// the checkout, so `--import tsx` still resolves) with only the variables under test.
describe('entry points refuse a bad configuration', () => {
  const cwd = scratchDir('config-entry');
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  const runNode = (args: string[], env: Record<string, string>) =>
    spawnProject(args, { JWT_SECRET: SECRET, ...env }, { cwd, isolatedEnv: true }).finished;

  const entries: [string, string[]][] = [
    ['the Node server', ['--import', 'tsx', join(ROOT, 'functions/node.ts')]],
    ['opsbase migrate status', [join(ROOT, 'bin/opsbase.mjs'), 'migrate', 'status']],
  ];
  const cases: [string, string, RegExp][] = [
    ['PORT', 'abc', /PORT: expected a port number \(got "abc"\)/],
    ['DATABASE_PORT', 'x', /DATABASE_PORT: expected a port number \(got "x"\)/],
  ];

  describe.each(entries)('%s', (_name, args) => {
    it.each(cases)('exits 1 naming %s=%s on stderr', async (variable, value, message) => {
      const run = await runNode(args, { [variable]: value });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toContain('See .env.example');
      expect(run.stdout).not.toMatch(/listening/);
    });
  });
});
