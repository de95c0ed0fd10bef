import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { EMBEDDED_S3_CREDENTIALS } from '../local/embedded-s3.ts';
import { scratchDir } from './support/paths.ts';
import { freePort, type Spawned, spawnProject, waitFor } from './support/processes.ts';

// `npm run dev` as a newcomer runs it: nothing but the npm packages, an empty DATA_DIR.
describe('npm run dev (local stack)', () => {
  const dataDir = scratchDir('dev-stack');
  const running: Spawned[] = [];
  let env: Record<string, string>;

  const startDev = () => {
    const dev = spawnProject(['--import', 'tsx', 'local/dev.ts'], {
      ...env,
      // Whatever the developer's shell or .env says, this test wants the embedded servers.
      DATABASE_URL: '',
      DATABASE_HOST: '',
      S3_ENDPOINT: '',
      LOG_LEVEL: 'warn',
    });
    running.push(dev);
    return dev;
  };
  const healthy = async () => {
    const res = await fetch(`http://127.0.0.1:${env.PORT}/api/health`);
    type Health = { status: string; info: { database: { status: string }; storage: { status: string } } };
    return res.status === 200 ? ((await res.json()) as Health) : undefined;
  };
  const stop = async (dev: Spawned) => {
    dev.child.kill('SIGINT');
    return dev.exited;
  };

  afterAll(async () => {
    for (const dev of running) if (dev.child.exitCode === null) dev.child.kill('SIGKILL');
  });

  it('starts from an empty data dir, prints where everything is, and is healthy', async () => {
    env = {
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      LOCAL_PG_PORT: String(await freePort()),
      LOCAL_S3_PORT: String(await freePort()),
    };
    const dev = startDev();
    await dev.waitForOutput(/Press Ctrl-C to stop/);
    const out = dev.output();
    expect(out).toContain(`App:      http://127.0.0.1:${env.PORT}`);
    expect(out).toContain(`Health:   http://127.0.0.1:${env.PORT}/api/health`);
    expect(out).toContain(`psql "postgres://postgres@127.0.0.1:${env.LOCAL_PG_PORT}/postgres?sslmode=disable"`);
    expect(out).toContain(`S3:       http://127.0.0.1:${env.LOCAL_S3_PORT}  bucket opsbase`);
    const body = await waitFor(healthy, 30_000, 'health 200');
    expect(body.info.database.status).toBe('up');
    expect(body.info.storage.status).toBe('up');
    // A cold start: PGlite's initdb, every migration, the demo data, the S3 emulator.
  }, 120_000);

  it('creates the first admin and prints its login once', async () => {
    const match = /Admin login \(shown once\): (\S+) \/ (\S+)/.exec((running[0] as Spawned).output());
    expect(match?.[1]).toBe('admin@opsbase.local');
    const res = await fetch(`http://127.0.0.1:${env.PORT}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: match?.[1], password: match?.[2] }),
    });
    expect(res.status).toBe(200);
    expect((await res.json()).user.role).toBe('admin');
  });

  it('serves Postgres and S3 to other clients on the printed ports', async () => {
    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${env.LOCAL_PG_PORT}/postgres` });
    await client.connect();
    await client.query(`insert into app_settings (key, value) values ('test.marker', '"kept"')`);
    await client.end();
    const s3 = new S3Client({
      endpoint: `http://127.0.0.1:${env.LOCAL_S3_PORT}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: EMBEDDED_S3_CREDENTIALS,
    });
    await s3.send(new PutObjectCommand({ Bucket: 'opsbase', Key: 'test/marker.txt', Body: 'kept' }));
  });

  it('refuses a second stack on the same data dir with a clear message', async () => {
    const second = spawnProject(['--import', 'tsx', 'local/dev.ts'], {
      ...env,
      PORT: String(await freePort()),
      LOCAL_PG_PORT: String(await freePort()),
      LOCAL_S3_PORT: String(await freePort()),
      DATABASE_URL: '',
      S3_ENDPOINT: '',
    });
    running.push(second);
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(/DATA_DIR .* is in use by process \d+/);
  });

  it('stops cleanly on Ctrl-C and releases its ports and lock', async () => {
    const dev = running[0] as Spawned;
    expect(await stop(dev)).toBe(0);
    expect(existsSync(join(dataDir, 'opsbase.lock'))).toBe(false);
    await expect(fetch(`http://127.0.0.1:${env.PORT}/api/health`)).rejects.toThrow();
  });

  it('starts again on the same data dir with the data kept', async () => {
    const dev = startDev();
    await dev.waitForOutput(/Press Ctrl-C to stop/);
    await waitFor(healthy, 30_000, 'health 200 after restart');
    expect(dev.output()).not.toContain('Admin login'); // printed on the first start only
    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${env.LOCAL_PG_PORT}/postgres` });
    await client.connect();
    const { rows } = await client.query(`select value from app_settings where key = 'test.marker'`);
    await client.end();
    expect(rows).toEqual([{ value: 'kept' }]);
    const s3 = new S3Client({
      endpoint: `http://127.0.0.1:${env.LOCAL_S3_PORT}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: EMBEDDED_S3_CREDENTIALS,
    });
    const object = await s3.send(new GetObjectCommand({ Bucket: 'opsbase', Key: 'test/marker.txt' }));
    expect(await object.Body?.transformToString()).toBe('kept');
    expect(await stop(dev)).toBe(0);
  }, 90_000);
});
