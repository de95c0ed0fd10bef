import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, parseConfig } from '../lib/config.ts';
import { ROOT } from './support/paths.ts';

/**
 * Variables .env.example may assign although lib/config.ts does not read them, and who does.
 * Anything else it assigns must be a config variable, so a renamed or removed one shows up here.
 */
const READ_ELSEWHERE: Record<string, string> = {
  ADMIN_EMAIL: 'npm run dev (local/dev.ts): the first admin',
  ADMIN_PASSWORD: 'npm run dev (local/dev.ts): the first admin',
  WORKER_PORT: 'npm run dev:worker (local/dev-worker.ts)',
  DEV_PG_PORT: 'docker compose (docker-compose.dev.yml host port)',
  DEV_S3_PORT: 'docker compose (docker-compose.dev.yml host port)',
  DEV_S3_CONSOLE_PORT: 'docker compose (docker-compose.dev.yml host port)',
  DEV_MYSQL_PORT: 'docker compose (docker-compose.dev.yml host port)',
  POSTGRES_USER: 'docker compose (docker-compose.yml postgres service)',
  POSTGRES_DB: 'docker compose (docker-compose.yml postgres service)',
  POSTGRES_PASSWORD: 'docker compose (docker-compose.yml postgres service)',
  POSTGRES_PORT: 'docker compose (docker-compose.yml host port)',
  MINIO_PORT: 'docker compose (docker-compose.yml host port)',
  MINIO_CONSOLE_PORT: 'docker compose (docker-compose.yml host port)',
  UPTIME_KUMA_PORT: 'docker compose (docker-compose.yml host port)',
  COMPOSE_PROFILES: 'docker compose (docker-compose.yml: the minio profile)',
};

const text = readFileSync(join(ROOT, '.env.example'), 'utf8');
const lines = text.split('\n');

/** What a .env loader applies when .env.example is copied to .env unchanged. */
const active = parseEnv(text) as Record<string, string>;

const ASSIGNMENT = /^(#\s?)?([A-Z][A-Z0-9_]*)=(.*)$/;
const blockStart = lines.indexOf('# >>> docker-compose.dev.yml');
const blockEnd = lines.indexOf('# <<< docker-compose.dev.yml');
const productionStart = lines.indexOf('# >>> docker-compose.yml');
const productionEnd = lines.indexOf('# <<< docker-compose.yml');

/** Every `NAME=value` line, active or commented out, with where it sits. */
const assignments = lines.flatMap((line, index) => {
  const match = ASSIGNMENT.exec(line);
  if (!match) return [];
  const [, hash, name = '', value = ''] = match;
  // Both compose blocks show values for their compose file, not the config's defaults.
  const inComposeBlock = (index > blockStart && index < blockEnd) || (index > productionStart && index < productionEnd);
  return [{ name, value, commented: Boolean(hash), inComposeBlock }];
});
const assigned = new Set(assignments.map((a) => a.name));

/** A config from the active lines plus a secret (the one value .env.example leaves to you). */
const withSecret = (env: Record<string, string>) => ({ ...env, JWT_SECRET: 'x'.repeat(32) });

describe('.env.example', () => {
  it('has the docker-compose.dev.yml block between its markers', () => {
    expect(blockStart).toBeGreaterThan(-1);
    expect(blockEnd).toBeGreaterThan(blockStart);
  });

  it('documents every variable the config reads', () => {
    expect(CONFIG_VARIABLES.filter((name) => !assigned.has(name))).toEqual([]);
  });

  it('assigns only variables the config reads or that are listed as read elsewhere', () => {
    const config = new Set<string>(CONFIG_VARIABLES);
    expect([...assigned].filter((name) => !config.has(name) && !(name in READ_ELSEWHERE))).toEqual([]);
  });

  it('uses every name listed as read elsewhere, and none of them is a config variable', () => {
    for (const name of Object.keys(READ_ELSEWHERE)) {
      expect(assigned, name).toContain(name);
      expect(CONFIG_VARIABLES, name).not.toContain(name);
    }
  });

  it('comments every variable: each paragraph that assigns one also explains it', () => {
    const paragraphs = text.split(/\n\s*\n/);
    for (const paragraph of paragraphs) {
      const paragraphLines = paragraph.split('\n').filter(Boolean);
      if (!paragraphLines.some((line) => ASSIGNMENT.test(line))) continue;
      const prose = paragraphLines.filter((line) => line.startsWith('#') && !ASSIGNMENT.test(line));
      expect(
        prose.some((line) => /[a-z]{3}/.test(line)),
        paragraph,
      ).toBe(true);
    }
  });

  it('leaves only JWT_SECRET to be filled in: the active lines parse once it is set', () => {
    try {
      parseConfig(active);
      expect.unreachable('JWT_SECRET has no example value on purpose');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.map((p) => p.variable)).toEqual(['JWT_SECRET']);
    }
    expect(() => parseConfig(withSecret(active))).not.toThrow();
  });

  it('shows the defaults the config applies: active lines and commented values outside the compose block', () => {
    const defaults = parseConfig(withSecret({}));
    expect(parseConfig(withSecret(active))).toEqual(defaults);
    const shown = assignments.filter((a) => a.commented && !a.inComposeBlock && a.value !== '');
    expect(shown.length).toBeGreaterThan(20);
    for (const { name, value } of shown) {
      if (name in READ_ELSEWHERE) continue;
      expect(parseConfig(withSecret({ ...active, [name]: value })), `${name}=${value}`).toEqual(defaults);
    }
  });

  it('assigns each variable once outside the compose block', () => {
    const names = assignments.filter((a) => !a.inComposeBlock).map((a) => a.name);
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
  });
});
