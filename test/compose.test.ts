import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../lib/config.ts';
import { ROOT } from './support/paths.ts';

// No Docker engine here: docker-compose.dev.yml is checked by reading it, the way compose would.

type Port = string | { host_ip?: string; published?: string | number; target: number };
type Service = {
  image: string;
  restart?: string;
  environment?: Record<string, string> | string[];
  ports?: Port[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  healthcheck?: { test?: string | string[] };
  depends_on?: string[] | Record<string, { condition?: string }>;
  entrypoint?: string | string[];
  command?: string | string[];
};
type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown> };

// merge: compose honours YAML merge keys (<<), which YAML 1.2 leaves off by default.
const compose = parse(readFileSync(join(ROOT, 'docker-compose.dev.yml'), 'utf8'), { merge: true }) as Compose;
const services = compose.services;

/** The compose block of .env.example: `# NAME=value` and `# export NAME=value` between the markers. */
function envExampleComposeBlock(): Record<string, string> {
  const lines = readFileSync(join(ROOT, '.env.example'), 'utf8').split('\n');
  const block = lines.slice(
    lines.indexOf('# >>> docker-compose.dev.yml') + 1,
    lines.indexOf('# <<< docker-compose.dev.yml'),
  );
  const vars: Record<string, string> = {};
  for (const line of block) {
    const match = /^#\s?(?:export\s+)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match?.[1]) vars[match[1]] = match[2] ?? '';
  }
  return vars;
}
const documented = envExampleComposeBlock();

const environment = (service: Service): Record<string, string> =>
  Array.isArray(service.environment)
    ? Object.fromEntries(service.environment.map((entry) => entry.split(/=(.*)/s).slice(0, 2)))
    : Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]));

/** A published port as compose reads it, `${VAR:-default}` taken at its default. */
function published(port: Port): { hostIp: string | undefined; hostPort: string; variable?: string; target: number } {
  if (typeof port !== 'string') {
    return { hostIp: port.host_ip, hostPort: String(port.published ?? ''), target: port.target };
  }
  const variable = /\$\{(\w+):-[^}]*\}/.exec(port)?.[1];
  const parts = port.replace(/\$\{\w+:-([^}]*)\}/g, '$1').split(':');
  const target = Number(parts.at(-1)?.split('/')[0]);
  if (parts.length === 3) return { hostIp: parts[0], hostPort: parts[1] ?? '', variable, target };
  return { hostIp: undefined, hostPort: parts.length === 2 ? (parts[0] ?? '') : '', variable, target };
}

/** The host port a service's container port is published on by default. */
function hostPort(service: Service, target: number): string {
  const port = (service.ports ?? []).map(published).find((p) => p.target === target);
  if (!port) throw new Error(`container port ${target} is not published`);
  return port.hostPort;
}

/** One-shot services run a command and exit, so they have no health to check. */
const isOneShot = (service: Service) => service.restart === 'no';
const longRunning = Object.entries(services).filter(([, service]) => !isOneShot(service));
const [bucketServiceName, bucketService] =
  Object.entries(services).find(([, service]) => service.image.startsWith('minio/mc')) ?? [];

const postgres = services.postgres as Service;
const minio = services.minio as Service;
const mariadb = services.mariadb as Service;

describe('docker-compose.dev.yml', () => {
  it('runs PostgreSQL 16, MinIO and MariaDB 11', () => {
    expect(postgres?.image).toBe('postgres:16-alpine');
    expect(minio?.image).toMatch(/^minio\/minio(:|$)/);
    expect(mariadb?.image).toMatch(/^mariadb:11(\.|$)/);
  });

  it('gives every long-running service a healthcheck', () => {
    expect(longRunning.map(([name]) => name).sort()).toEqual(['mariadb', 'minio', 'postgres']);
    for (const [name, service] of longRunning) {
      const test = service.healthcheck?.test;
      expect(test, name).toBeDefined();
      expect(test?.length, name).toBeGreaterThan(0);
      expect(test, name).not.toEqual(['NONE']);
    }
  });

  it('publishes every port on 127.0.0.1 only, with a DEV_*_PORT variable to move it', () => {
    const ports = Object.entries(services).flatMap(([name, service]) =>
      (service.ports ?? []).map((port) => ({ name, port, ...published(port) })),
    );
    expect(ports.length).toBeGreaterThanOrEqual(4);
    for (const { name, port, hostIp, hostPort, variable } of ports) {
      expect(hostIp, `${name}: ${JSON.stringify(port)}`).toBe('127.0.0.1');
      expect(hostPort, `${name}: ${JSON.stringify(port)}`).toMatch(/^\d+$/);
      expect(variable, `${name}: ${JSON.stringify(port)}`).toMatch(/^DEV_\w+_PORT$/);
    }
  });

  it('keeps each long-running service’s data in a named volume', () => {
    const named = Object.keys(compose.volumes ?? {});
    for (const [name, service] of longRunning) {
      const sources = (service.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[0] : v.source));
      expect(
        sources.some((source) => source && named.includes(source)),
        name,
      ).toBe(true);
    }
  });

  it('creates the bucket with a one-shot mc service once MinIO is healthy', () => {
    expect(bucketServiceName).toBeDefined();
    const service = bucketService as Service;
    expect(isOneShot(service)).toBe(true);
    expect(service.depends_on).toMatchObject({ minio: { condition: 'service_healthy' } });
    const script = [service.entrypoint, service.command].flat().join(' ');
    expect(script).toMatch(/mc alias set \w+ http:\/\/minio:9000 /);
    expect(script).toMatch(/mc mb --ignore-existing "?\w+\/\$\$S3_BUCKET/);
    // The same root credentials MinIO starts with.
    const env = environment(service);
    expect(env.MINIO_ROOT_USER).toBe(environment(minio).MINIO_ROOT_USER);
    expect(env.MINIO_ROOT_PASSWORD).toBe(environment(minio).MINIO_ROOT_PASSWORD);
  });

  it('mounts local/mariadb-init as MariaDB’s init scripts', () => {
    const mounts = (mariadb.volumes ?? []).filter((v): v is string => typeof v === 'string');
    expect(mounts.some((m) => /^\.\/local\/mariadb-init:\/docker-entrypoint-initdb\.d(:ro)?$/.test(m))).toBe(true);
    expect(existsSync(join(ROOT, 'local/mariadb-init'))).toBe(true);
  });

  it('loads local/leads-source.sql on first start (mounted, and run by a mariadb-init script)', () => {
    const mounts = (mariadb.volumes ?? []).filter((v): v is string => typeof v === 'string');
    const mount = mounts.find((m) => m.startsWith('./local/leads-source.sql:'));
    expect(mount).toBeDefined();
    const target = mount?.split(':')[1] ?? '';
    const script = readFileSync(join(ROOT, 'local/mariadb-init/10-leads-source.sh'), 'utf8');
    expect(script).toContain(`docker_process_sql < ${target}`);
    expect(readFileSync(join(ROOT, 'local/leads-source.sql'), 'utf8')).toMatch(/CREATE TABLE IF NOT EXISTS leads \(/);
  });
});

describe('the docker-compose.dev.yml block of .env.example matches the compose file', () => {
  it('DATABASE_URL has the postgres service’s user, password, database and host port', () => {
    const env = environment(postgres);
    const url = new URL(documented.DATABASE_URL ?? '');
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.port || '5432').toBe(hostPort(postgres, 5432));
    expect(decodeURIComponent(url.username)).toBe(env.POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(env.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${env.POSTGRES_DB}`);
    // The healthcheck asks for the same user and database.
    expect([postgres.healthcheck?.test].flat().join(' ')).toContain(`-U ${env.POSTGRES_USER} -d ${env.POSTGRES_DB}`);
  });

  it('TEST_DATABASE_URL points at the same server with the same credentials', () => {
    expect(documented.TEST_DATABASE_URL).toBe(documented.DATABASE_URL);
  });

  it('S3_* have MinIO’s host port, root credentials and the bucket the one-shot service creates', () => {
    const env = environment(minio);
    const endpoint = new URL(documented.S3_ENDPOINT ?? '');
    expect(endpoint.protocol).toBe('http:');
    expect(endpoint.hostname).toBe('127.0.0.1');
    expect(endpoint.port).toBe(hostPort(minio, 9000));
    expect(documented.S3_ACCESS_KEY_ID).toBe(env.MINIO_ROOT_USER);
    expect(documented.S3_SECRET_ACCESS_KEY).toBe(env.MINIO_ROOT_PASSWORD);
    expect(documented.S3_BUCKET).toBe(environment(bucketService as Service).S3_BUCKET);
  });

  it('LEADS_MYSQL_URL has the mariadb service’s user, password, database and host port', () => {
    const env = environment(mariadb);
    const url = new URL(documented.LEADS_MYSQL_URL ?? '');
    expect(url.protocol).toBe('mysql:');
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.port).toBe(hostPort(mariadb, 3306));
    expect(decodeURIComponent(url.username)).toBe(env.MARIADB_USER);
    expect(decodeURIComponent(url.password)).toBe(env.MARIADB_PASSWORD);
    expect(url.pathname).toBe(`/${env.MARIADB_DATABASE}`);
  });

  it('DEV_*_PORT show the compose file’s default host ports, one for every published port', () => {
    const ports = Object.values(services).flatMap((service) => (service.ports ?? []).map(published));
    const defaults = Object.fromEntries(ports.map((p) => [p.variable, p.hostPort]));
    const shown = Object.fromEntries(Object.entries(documented).filter(([name]) => /^DEV_\w+_PORT$/.test(name)));
    expect(shown).toEqual(defaults);
  });

  it('is a configuration the app accepts, with the database and storage it names', () => {
    const config = parseConfig({ ...documented, JWT_SECRET: 'x'.repeat(32) });
    expect(config.databaseUrl).toBe(documented.DATABASE_URL);
    expect(config.s3).toMatchObject({
      endpoint: documented.S3_ENDPOINT,
      bucket: documented.S3_BUCKET,
      accessKeyId: documented.S3_ACCESS_KEY_ID,
      forcePathStyle: true,
    });
  });
});
