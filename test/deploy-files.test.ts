import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, copyFileSync, cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../lib/config.ts';
import { createDb, createPool } from '../lib/db/connection.ts';
import { crontabFor } from '../lib/jobs/crontab.ts';
import { JOBS } from '../lib/jobs/registry.ts';
import { startEmbeddedPostgres } from '../local/embedded-postgres.ts';
import { migrations } from '../migrations/index.ts';
import { ROOT, scratchDir } from './support/paths.ts';
import { freePort, waitFor } from './support/processes.ts';

// The production files, read the way docker and compose read them (there is no Docker engine
// here), and the Dockerfile's CMD and HEALTHCHECK run for real on what the image would hold.

const run = promisify(execFile);

type Service = {
  image?: string;
  build?: { context: string; args?: Record<string, string> };
  profiles?: string[];
  restart?: string;
  environment?: Record<string, string>;
  env_file?: string[];
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition?: string; required?: boolean }>;
  logging?: { driver?: string; options?: Record<string, string> };
};
const composeText = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText, { merge: true }) as { services: Record<string, Service>; volumes: object };
const services = compose.services;

const envExample = readFileSync(join(ROOT, '.env.example'), 'utf8');
/** The `# NAME=value` lines between `# >>> docker-compose.yml` and `# <<< docker-compose.yml`. */
function productionBlock(): Record<string, string> {
  const lines = envExample.split('\n');
  const start = lines.indexOf('# >>> docker-compose.yml');
  const end = lines.indexOf('# <<< docker-compose.yml');
  expect(start).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  return Object.fromEntries(
    lines
      .slice(start + 1, end)
      .map((line) => /^#\s?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
}

/** `${NAME}`, `${NAME:-default}` and `${NAME:?message}` as compose interpolates them ($$ escapes). */
function interpolated(text: string): Map<string, string | undefined> {
  const found = new Map<string, string | undefined>();
  for (const m of text.replaceAll('$$', '').matchAll(/\$\{([A-Z][A-Z0-9_]*)(?::-([^}]*))?(?::\?[^}]*)?\}/g)) {
    found.set(m[1] as string, m[2]);
  }
  return found;
}

describe('docker-compose.yml (production)', () => {
  const longRunning = Object.entries(services).filter(([, s]) => s.restart !== 'no');

  it('runs the app, PostgreSQL 16, Uptime Kuma, and MinIO behind the minio profile', () => {
    expect(Object.keys(services).sort()).toEqual(['app', 'minio', 'minio-create-bucket', 'postgres', 'uptime-kuma']);
    expect(services.app?.build?.context).toBe('.');
    expect(services.postgres?.image).toBe('postgres:16-alpine');
    expect(services['uptime-kuma']?.image).toMatch(/^louislam\/uptime-kuma:/);
    expect(services.minio?.profiles).toEqual(['minio']);
    expect(services['minio-create-bucket']?.profiles).toEqual(['minio']);
  });

  it('builds the app with DEPLOY_COMMIT and DEPLOY_TIME and starts it once the database is healthy', () => {
    // Compose's own ${NAME:-default} syntax, which deploy.sh fills through the environment.
    const composeDefault = (name: string) => `\${${name}:-unknown}`;
    expect(services.app?.build?.args).toEqual({
      DEPLOY_COMMIT: composeDefault('DEPLOY_COMMIT'),
      DEPLOY_TIME: composeDefault('DEPLOY_TIME'),
    });
    expect(services.app?.depends_on?.postgres).toEqual({ condition: 'service_healthy' });
    // MinIO only when its profile is on.
    expect(services.app?.depends_on?.minio).toEqual({ condition: 'service_healthy', required: false });
    expect(services.app?.env_file).toEqual(['.env.production']);
  });

  it('gives every long-running service a healthcheck (the app’s is the image’s HEALTHCHECK)', () => {
    for (const [name, service] of longRunning) {
      if (name === 'app') continue;
      expect(service.healthcheck?.test?.length, name).toBeGreaterThan(1);
    }
    expect(services.postgres?.healthcheck?.test?.join(' ')).toContain('pg_isready');
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^HEALTHCHECK /m);
  });

  it('publishes every port on 127.0.0.1 only', () => {
    const ports = Object.entries(services).flatMap(([name, s]) => (s.ports ?? []).map((p) => [name, p] as const));
    expect(ports.length).toBe(5);
    for (const [name, port] of ports) expect(port, name).toMatch(/^127\.0\.0\.1:\$\{[A-Z_]+:-\d+\}:\d+$/);
  });

  it('rotates every container’s logs and keeps every service’s data in a named volume', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.logging, name).toEqual({ driver: 'json-file', options: { 'max-size': '10m', 'max-file': '5' } });
    }
    const volumes = Object.keys(compose.volumes);
    for (const name of ['postgres', 'minio', 'uptime-kuma']) {
      const source = services[name]?.volumes?.[0]?.split(':')[0];
      expect(volumes, name).toContain(source);
    }
  });

  it('every variable it interpolates is documented in .env.example', () => {
    const names = [...interpolated(composeText).keys()];
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) expect(envExample, name).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
  });

  it('the docker-compose.yml block of .env.example matches it and is a production config the app accepts', () => {
    const block = productionBlock();
    const defaults = interpolated(composeText);
    const url = new URL(block.DATABASE_URL ?? '');
    // The app reaches postgres by its service name, on the container port.
    expect(url.hostname).toBe('postgres');
    expect(url.port || '5432').toBe('5432');
    expect(decodeURIComponent(url.username)).toBe(block.POSTGRES_USER ?? defaults.get('POSTGRES_USER'));
    expect(decodeURIComponent(url.password)).toBe(block.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${block.POSTGRES_DB ?? defaults.get('POSTGRES_DB')}`);
    expect(block.S3_ENDPOINT).toBe('http://minio:9000');
    // deploy/cron-run.sh and nginx reach the app on 127.0.0.1:PORT, the port compose publishes.
    expect(block.PORT).toBe(defaults.get('PORT'));
    const config = parseConfig(block);
    expect(config.nodeEnv).toBe('production');
    expect(config.databaseUrl).toBe(block.DATABASE_URL);
    expect(config.jobs.cronSecret).toBeDefined();
  });
});

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const instructions = dockerfile
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .filter((line) => line.trim() && !line.trim().startsWith('#'));
const stages = instructions.filter((line) => line.startsWith('FROM '));
const finalStage = instructions.slice(instructions.lastIndexOf(stages.at(-1) as string));
const execForm = (instruction: string) =>
  JSON.parse(
    finalStage.find((line) => line.startsWith(`${instruction} `))?.replace(/^\w+(\s+--\S+)*\s+(CMD\s+)?/, '') ?? '[]',
  ) as string[];

describe('Dockerfile', () => {
  it('has node:22-alpine stages: production dependencies installed in their own, a final runtime one', () => {
    expect(stages).toEqual(['FROM node:22-alpine AS base', 'FROM base AS deps', 'FROM base AS runtime']);
    expect(instructions).toContain('RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev');
    expect(finalStage).toContain('COPY --from=deps /app/node_modules ./node_modules');
    expect(finalStage.join('\n')).not.toMatch(/npm (ci|install)/);
  });

  it('runs as the unprivileged node user, with DEPLOY_COMMIT and DEPLOY_TIME from build args', () => {
    expect(finalStage).toContain('USER node');
    expect(finalStage).toContain('ARG DEPLOY_COMMIT=unknown');
    expect(finalStage).toContain('ARG DEPLOY_TIME=unknown');
    expect(finalStage).toContain('ENV DEPLOY_COMMIT=$DEPLOY_COMMIT DEPLOY_TIME=$DEPLOY_TIME');
  });

  it('.dockerignore keeps secrets and bulk out, and nothing the Dockerfile copies', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    for (const entry of ['.env', '.env.*', '.git', 'node_modules', '.data']) expect(ignored).toContain(entry);
    const copied = finalStage
      .filter((l) => l.startsWith('COPY ') && !l.includes('--from'))
      .flatMap((l) => l.split(' ').slice(1, -1));
    for (const path of copied) expect(ignored, path).not.toContain(path);
  });

  it('its CMD, run on what the image holds (the copied sources, production dependencies only), migrates a fresh database and serves; its HEALTHCHECK passes; SIGTERM stops it cleanly', async () => {
    const image = scratchDir('image');
    const pgDir = scratchDir('image-pg');
    try {
      // What `npm ci --omit=dev` in the deps stage installs; --prefer-offline uses npm's cache.
      copyFileSync(join(ROOT, 'package.json'), join(image, 'package.json'));
      copyFileSync(join(ROOT, 'package-lock.json'), join(image, 'package-lock.json'));
      await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], {
        cwd: image,
        timeout: 240_000,
      });
      for (const line of finalStage.filter((l) => l.startsWith('COPY ') && !l.includes('--from'))) {
        const [, ...paths] = line.split(' ');
        paths.pop();
        for (const path of paths) cpSync(join(ROOT, path), join(image, path), { recursive: true });
      }
      // A devDependency imported at runtime would fail here, as it would in the image.
      expect(() => accessSync(join(image, 'node_modules/vitest'), constants.F_OK)).toThrow();

      const postgres = await startEmbeddedPostgres({ dataDir: pgDir, port: 0 });
      const port = await freePort();
      const env = {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: postgres.url,
        JWT_SECRET: 'image-test-secret-0123456789abcdef',
        DEPLOY_COMMIT: 'abc1234',
        LOG_LEVEL: 'warn',
      };
      const cmd = execForm('CMD');
      expect(cmd.slice(0, 2)).toEqual(['sh', '-c']);
      expect(cmd[2]).toMatch(/migrate latest && exec node /);
      const child = spawn(cmd[0] as string, cmd.slice(1), { cwd: image, env, stdio: 'pipe' });
      let output = '';
      child.stdout.on('data', (c: Buffer) => {
        output += c;
      });
      child.stderr.on('data', (c: Buffer) => {
        output += c;
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        const healthcheck = execForm('HEALTHCHECK');
        expect(healthcheck[0]).toBe('node');
        await waitFor(
          async () => {
            if (child.exitCode !== null) throw new Error(`exited: ${output}`);
            return run(healthcheck[0] as string, healthcheck.slice(1), { env, cwd: image }).then(
              () => true,
              () => false,
            );
          },
          90_000,
          'the HEALTHCHECK to pass',
        );
        const health = await (await fetch(`http://127.0.0.1:${port}/api/health`)).json();
        expect(health).toMatchObject({ status: 'ok', commit: 'abc1234', runtime: 'node' });
        const db = createDb(createPool(postgres.url, { max: 1 }));
        const applied = await db
          .selectFrom('opsbase_migrations' as never)
          .selectAll()
          .execute();
        await db.destroy();
        expect(applied).toHaveLength(Object.keys(migrations).length);
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        await postgres.stop();
      }
    } finally {
      rmSync(image, { recursive: true, force: true });
      rmSync(pgDir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('deploy/crontab', () => {
  it('is what `opsbase cron crontab` prints for /opt/opsbase (regenerate it when the job registry changes)', () => {
    const expected = crontabFor(JOBS, {
      wrapper: '/opt/opsbase/deploy/cron-run.sh',
      envFile: '/opt/opsbase/.env.production',
      logDir: '/var/log',
    });
    expect(
      readFileSync(join(ROOT, 'deploy/crontab'), 'utf8'),
      'run: npx opsbase cron crontab --wrapper /opt/opsbase/deploy/cron-run.sh > deploy/crontab',
    ).toBe(expected);
    expect(() => accessSync(join(ROOT, 'deploy/cron-run.sh'), constants.X_OK)).not.toThrow();
  });
});

const logrotate = ['/usr/sbin/logrotate', '/usr/bin/logrotate'].find((path) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
});

describe('deploy/logrotate', () => {
  it.skipIf(!logrotate)('is a configuration logrotate accepts (skipped where logrotate is not installed)', async () => {
    const dir = scratchDir('logrotate');
    try {
      // --debug reads and plans without rotating anything.
      const { stderr } = await run(logrotate as string, [
        '--debug',
        '--state',
        join(dir, 'state'),
        join(ROOT, 'deploy/logrotate'),
      ]);
      expect(stderr).toContain('rotating pattern: /var/log/opsbase-*.log  weekly');
      expect(stderr).not.toMatch(/error:/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
