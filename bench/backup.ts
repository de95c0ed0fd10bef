// Backups on a generated database of BENCH_ROWS rows (default 5,000,000) on a real PostgreSQL
// (BENCH_DATABASE_URL, default the local server): our backup vs `pg_dump | gzip -1` to the same
// S3 emulator, our restore vs psql loading that dump, and the backup process's peak RSS. The
// backup is the CLI itself (`node bin/opsbase.mjs backup create`, what `npx opsbase` runs), so its
// peak RSS is that of the process a person or cron starts, with the CLI's own node flags.
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import pg from 'pg';
import { listBackups } from '../lib/backup/list.ts';
import { loadManifest } from '../lib/backup/read.ts';
import { readObject, uploadObject } from '../lib/backup/store.ts';
import { parseConfig } from '../lib/config.ts';
import { createStorage, type Storage } from '../lib/storage.ts';
import { EMBEDDED_S3_CREDENTIALS } from '../local/embedded-s3.ts';
import { spawnEmbeddedS3 } from '../local/services.ts';
import { spawnNodeChild, spawnTsChild } from './support/child.ts';
import { onCleanup } from './support/cleanup.ts';
import { scratchDir } from './support/paths.ts';
import { progress } from './support/progress.ts';
import { positiveNumberFromEnv } from './support/settings.ts';
import { formatTable } from './support/table.ts';
import type { Verdict } from './support/verdict.ts';

const say = progress('backup');
const SOURCE = 'opsbase_bench_backup_source';

const TABLES_DDL = [
  `create table if not exists bench_orders (id bigint primary key, customer_id integer not null,
     amount numeric(12, 2) not null, status text not null, created_at timestamptz not null, note text, tags text[])`,
  `create table if not exists bench_events (id bigint primary key, order_id bigint not null, kind text not null,
     payload jsonb, at timestamptz not null)`,
];

function urlFor(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin<T>(base: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: urlFor(base, 'postgres') });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The source database, generated once and kept for later runs while it has the wanted row count. */
async function sourceDatabase(base: string, rows: number): Promise<string> {
  const url = urlFor(base, SOURCE);
  const exists = await admin(
    base,
    async (c) => (await c.query('select 1 from pg_database where datname = $1', [SOURCE])).rowCount,
  );
  if (exists) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows: counted } = await client.query<{ n: string }>(
        'select ((select count(*) from bench_orders) + (select count(*) from bench_events))::text as n',
      );
      if (Number(counted[0]?.n) === rows) return url;
    } catch {
      // not what we want: made again below
    } finally {
      await client.end();
    }
    await admin(base, (c) => c.query(`drop database "${SOURCE}" with (force)`));
  }
  say(`generating ${rows.toLocaleString('en-US')} rows in ${SOURCE} (kept for later runs)`);
  await admin(base, (c) => c.query(`create database "${SOURCE}"`));
  await runCommand(process.execPath, ['bin/opsbase.mjs', 'migrate', 'latest'], {
    DATABASE_URL: url,
    JWT_SECRET: 'x'.repeat(32),
  });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const ddl of TABLES_DDL) await client.query(ddl);
    const orders = Math.round(rows * 0.6);
    await client.query(`insert into bench_orders
      select g, (g::bigint * 7919) % 100000, ((g::bigint * 37) % 100000) / 100.0, (array['new','paid','shipped','cancelled'])[1 + g % 4],
        '2026-01-01'::timestamptz + g * interval '1 second',
        case when g % 5 = 0 then null else 'order note ' || md5(g::text) end, array['t' || g % 10, 't' || g % 7]
      from generate_series(1, ${orders}) g`);
    await client.query(`insert into bench_events
      select g, 1 + g % ${orders}, (array['view','click','buy'])[1 + g % 3],
        jsonb_build_object('n', g, 'ok', g % 2 = 0, 'tag', 't' || g % 10), '2026-01-01'::timestamptz + g * interval '100 ms'
      from generate_series(1, ${rows - orders}) g`);
    await client.query('vacuum analyze');
  } finally {
    await client.end();
  }
  return url;
}

function runCommand(command: string, args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${stderr}`))));
  });
}

/** `opsbase backup create` as a person runs it; its own report gives the id and its peak RSS. */
async function cliBackup(env: Record<string, string>, storage: Storage, prefix: string) {
  const proc = spawnNodeChild(['bin/opsbase.mjs', 'backup', 'create'], { env: { ...process.env, ...env } });
  const code = await proc.exited;
  if (code !== 0) throw new Error(`opsbase backup create failed (${code}): ${proc.output()}`);
  const made = /backup (\S+) complete: .*, peak RSS (\d+) MB/.exec(proc.output());
  if (!made?.[1] || !made[2]) throw new Error(`opsbase backup create printed no summary: ${proc.output()}`);
  // The manifest's duration (ms): from the snapshot to the last object, without node's startup.
  const manifest = await loadManifest(storage, prefix, made[1]);
  return { id: made[1], ms: manifest.durationMs, maxRssMb: Number(made[2]) };
}

/** A restore in a process of its own (bench/backup-child.ts), for its time and peak RSS. */
async function child(args: string[], env: Record<string, string>) {
  const proc = spawnTsChild('bench/backup-child.ts', { env: { ...process.env, ...env }, args });
  const code = await proc.exited;
  if (code !== 0) throw new Error(`backup child failed (${code}): ${proc.output()}`);
  return JSON.parse(proc.output().trim().split('\n').at(-1) ?? '') as { id: string; ms: number; maxRssMb: number };
}

/** pg_dump | gzip -1, streamed to the same storage with the same uploader. */
async function pgDumpToStorage(url: string, storage: Storage, key: string, partSize: number) {
  const started = performance.now();
  const dump = spawn('pg_dump', ['--no-owner', '-d', url], { stdio: ['ignore', 'pipe', 'inherit'] });
  const gzip = spawn('gzip', ['-1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  dump.stdout.pipe(gzip.stdin);
  let bytes = 0;
  await uploadObject(
    storage,
    key,
    (async function* () {
      for await (const chunk of gzip.stdout) {
        bytes += chunk.length;
        yield chunk as Uint8Array;
      }
    })(),
    { partSize, contentType: 'application/gzip' },
  );
  const codes = await Promise.all([exitCode(dump), exitCode(gzip)]);
  if (codes.some((c) => c !== 0)) throw new Error(`pg_dump | gzip exited ${codes.join(', ')}`);
  return { ms: performance.now() - started, bytes };
}

/** Download -> gunzip -> psql, as the deployment plans restore. */
async function psqlFromStorage(url: string, storage: Storage, key: string) {
  const started = performance.now();
  const psql = spawn('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-d', url], { stdio: ['pipe', 'ignore', 'inherit'] });
  await pipeline(Readable.from(await readObject(storage, key)), createGunzip(), psql.stdin);
  const code = await exitCode(psql);
  if (code !== 0) throw new Error(`psql exited ${code}`);
  return { ms: performance.now() - started };
}

function exitCode(proc: ReturnType<typeof spawn>): Promise<number | null> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) resolve(proc.exitCode);
    else proc.once('exit', (code) => resolve(code));
  });
}

export async function run(): Promise<Verdict[]> {
  const rows = positiveNumberFromEnv('BENCH_ROWS', 5_000_000);
  const base =
    process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const source = await sourceDatabase(base, rows);
  const dir = scratchDir('backup');
  const s3 = await spawnEmbeddedS3({ directory: dir.path, port: 0, bucket: 'bench' });
  const forgetS3 = onCleanup(() => s3.stop());
  const scratch = [`opsbase_bench_psql_${process.pid}`, `opsbase_bench_restore_${process.pid}`];
  const dropScratch = () =>
    admin(base, async (c) => {
      for (const name of scratch) await c.query(`drop database if exists "${name}" with (force)`);
    });
  const forgetDbs = onCleanup(dropScratch);
  try {
    const s3Env = {
      S3_ENDPOINT: s3.url,
      S3_BUCKET: 'bench',
      S3_ACCESS_KEY_ID: EMBEDDED_S3_CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: EMBEDDED_S3_CREDENTIALS.secretAccessKey,
    };
    const config = parseConfig({ ...s3Env, JWT_SECRET: 'x'.repeat(32) });
    const storage = createStorage(config.s3 as NonNullable<typeof config.s3>);

    // Each timed phase starts from a checkpoint, so none pays for the WAL the one before it wrote
    // (a restore writes ~1 GB of WAL: without this, whichever restore ran second took the checkpoint).
    const checkpoint = () =>
      admin(base, (c) => c.query('checkpoint')).catch((error: Error) =>
        say(`  (no checkpoint before this phase: ${error.message})`),
      );
    await checkpoint();
    say('pg_dump | gzip -1 -> S3 (anchor)');
    const dumped = await pgDumpToStorage(source, storage, 'anchor/pg_dump.sql.gz', config.backup.partSize);
    say(`  ${(dumped.ms / 1000).toFixed(1)} s, ${(dumped.bytes / 1024 / 1024).toFixed(1)} MB`);
    await checkpoint();
    say('opsbase backup -> S3 (`opsbase backup create` in its own process)');
    const ours = await cliBackup(
      { ...s3Env, DATABASE_URL: source, JWT_SECRET: 'x'.repeat(32) },
      storage,
      config.backup.prefix,
    );
    const stored = (await listBackups(storage, config.backup.prefix)).find((b) => b.id === ours.id);
    say(
      `  ${(ours.ms / 1000).toFixed(1)} s, ${((stored?.bytes ?? 0) / 1024 / 1024).toFixed(1)} MB, peak RSS ${ours.maxRssMb.toFixed(0)} MB`,
    );

    await admin(base, async (c) => {
      for (const name of scratch) await c.query(`create database "${name}"`);
    });
    await checkpoint();
    say('S3 -> gunzip -> psql (anchor)');
    const psqlRestore = await psqlFromStorage(urlFor(base, scratch[0]!), storage, 'anchor/pg_dump.sql.gz');
    say(`  ${(psqlRestore.ms / 1000).toFixed(1)} s`);
    // Gone before the next phase: autovacuum would otherwise vacuum its 5M fresh rows meanwhile.
    await admin(base, (c) => c.query(`drop database "${scratch[0]}" with (force)`));
    say('opsbase restore (child process)');
    const target = new pg.Client({ connectionString: urlFor(base, scratch[1]!) });
    await target.connect();
    for (const ddl of TABLES_DDL) await target.query(ddl);
    await target.end();
    await checkpoint();
    const restored = await child(['restore', ours.id], { ...s3Env, DATABASE_URL: urlFor(base, scratch[1]!) });
    say(`  ${(restored.ms / 1000).toFixed(1)} s, peak RSS ${restored.maxRssMb.toFixed(0)} MB`);

    const backupRatio = dumped.ms / ours.ms;
    const restoreRatio = psqlRestore.ms / restored.ms;
    console.log(
      `\n${rows.toLocaleString('en-US')} rows (bench_orders 60%, bench_events 40%), local PostgreSQL, S3 emulator\n`,
    );
    console.log(
      formatTable(
        ['', 'seconds', 'MB stored', 'peak RSS MB'],
        [
          ['pg_dump | gzip -1 -> S3', (dumped.ms / 1000).toFixed(1), (dumped.bytes / 1024 / 1024).toFixed(1), '-'],
          [
            'opsbase backup',
            (ours.ms / 1000).toFixed(1),
            ((stored?.bytes ?? 0) / 1024 / 1024).toFixed(1),
            ours.maxRssMb.toFixed(0),
          ],
          ['S3 -> gunzip | psql', (psqlRestore.ms / 1000).toFixed(1), '-', '-'],
          ['opsbase restore', (restored.ms / 1000).toFixed(1), '-', restored.maxRssMb.toFixed(0)],
        ],
      ),
    );
    console.log('');
    return [
      {
        bench: 'backup',
        target: 'backup throughput vs pg_dump | gzip -1 >= 1.0x',
        measured: `${backupRatio.toFixed(2)}x`,
        pass: backupRatio >= 1,
      },
      {
        bench: 'backup',
        target: 'restore vs psql loading the pg_dump output >= 0.8x',
        measured: `${restoreRatio.toFixed(2)}x`,
        pass: restoreRatio >= 0.8,
      },
      {
        bench: 'backup',
        target: 'peak RSS of the backup process < 200 MB',
        measured: `${ours.maxRssMb.toFixed(0)} MB`,
        pass: ours.maxRssMb < 200,
      },
    ];
  } finally {
    await dropScratch();
    forgetDbs();
    await s3.stop();
    forgetS3();
    dir.remove();
  }
}
