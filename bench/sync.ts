// leads_sync's throughput: 100k leads from MariaDB into Postgres through the real job code, beside
// a plain UNNEST insert of the same rows (already in memory) into the same table, in one run.
// Postgres: a scratch database on BENCH_DATABASE_URL / TEST_DATABASE_URL (an admin URL) when set,
// else an embedded PGlite. MySQL: a scratch database on MYSQL_URL (default root@127.0.0.1:3306).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import { parseConfig } from '../lib/config.ts';
import type { LeadRecord } from '../lib/crm/lead-rows.ts';
import { syncLeads } from '../lib/crm/leads-sync.ts';
import { createDb, createPool, type Db } from '../lib/db/connection.ts';
import { migrateOrThrow } from '../lib/db/migrate.ts';
import { createLogger } from '../lib/logger.ts';
import { startEmbeddedPostgres } from '../local/embedded-postgres.ts';
import { onCleanup } from './support/cleanup.ts';
import { jwtSecretForScratch } from './support/jwt-secret.ts';
import { ROOT, scratchDir } from './support/paths.ts';
import { progress } from './support/progress.ts';
import { positiveNumberFromEnv } from './support/settings.ts';
import { formatTable } from './support/table.ts';
import type { Verdict } from './support/verdict.ts';

const say = progress('sync');
const TARGET_ROWS_PER_SECOND = 50_000;
const BATCH = 5000;

/** A scratch MySQL database with the default source table and `rows` leads. */
async function seedSource(rows: number): Promise<{ url: string; drop(): Promise<void> }> {
  const server = new URL(process.env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/test');
  const name = `opsbase_bench_${process.pid}`;
  const admin = await createConnection({ uri: server.toString(), multipleStatements: true });
  const drop = async () => {
    const c = await createConnection({ uri: server.toString() });
    await c.query(`drop database if exists \`${name}\``);
    await c.end();
  };
  const forget = onCleanup(drop);
  await admin.query(`drop database if exists \`${name}\`; create database \`${name}\`; use \`${name}\``);
  const schema = readFileSync(join(ROOT, 'local/leads-source.sql'), 'utf8');
  await admin.query(schema.slice(0, schema.indexOf('INSERT INTO')));
  // Dates in the past (well before the sync's settling window), whatever today is.
  const start = Date.now() - (Date.now() % 1000);
  for (let from = 1; from <= rows; from += 5000) {
    const values = Array.from({ length: Math.min(5000, rows - from + 1) }, (_, i) => {
      const id = from + i;
      return [
        id,
        `Lead ${id}`,
        `+91 9${String(id).padStart(9, '0')}`,
        `lead${id}@example.com`,
        ['Mumbai', 'Pune', 'Delhi'][id % 3],
        'website',
        ['new', 'contacted', 'qualified'][id % 3],
        null,
        id % 4 === 0 ? 'Asked for a callback' : null,
        new Date(start - 60 * 86_400_000 + id * 30_000),
        new Date(start - 30 * 86_400_000 + id * 7_000),
      ];
    });
    await admin.query(
      'insert into leads (id, name, phone, email, city, source, status, assigned_to, notes, created_at, updated_at) values ?',
      [values],
    );
  }
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      forget();
      await drop();
    },
  };
}

/** A scratch, migrated Postgres: on a real server when an admin URL is given, else embedded PGlite. */
async function scratchPostgres(): Promise<{ url: string; kind: string; db: Db; stop(): Promise<void> }> {
  const adminUrl = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
  if (adminUrl) {
    const name = `opsbase_bench_sync_${process.pid}`;
    const run = async (statement: string) => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(statement).finally(() => client.end());
    };
    await run(`drop database if exists "${name}"`);
    await run(`create database "${name}"`);
    const forget = onCleanup(() => run(`drop database if exists "${name}" with (force)`));
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const db = createDb(createPool(url.toString(), { max: 4 }));
    await migrateOrThrow(db);
    return {
      url: url.toString(),
      kind: `PostgreSQL (${url.host})`,
      db,
      async stop() {
        await db.destroy();
        forget();
        await run(`drop database if exists "${name}" with (force)`);
      },
    };
  }
  const dir = scratchDir('sync');
  const embedded = await startEmbeddedPostgres({ dataDir: dir.path, port: 0 });
  const db = createDb(createPool(embedded.url, { max: 4 }));
  await migrateOrThrow(db);
  return {
    url: embedded.url,
    kind: 'embedded PGlite (set BENCH_DATABASE_URL for a real PostgreSQL)',
    db,
    async stop() {
      await db.destroy();
      await embedded.stop();
      dir.remove();
    },
  };
}

/** The anchor: the same rows inserted with a plain UNNEST per 5,000, no conflict handling, no cursor. */
async function unnestInsert(db: Db, records: LeadRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += BATCH) {
    const chunk = records.slice(i, i + BATCH);
    const column = <T>(pick: (r: LeadRecord) => T) => chunk.map(pick);
    await sql`insert into leads (external_id, name, phone, email, city, source, status, source_assignee, notes, created_at, updated_at, source_updated_at)
      select *, u from unnest(${column((r) => r.externalId)}::text[], ${column((r) => r.name)}::text[],
        ${column((r) => r.phone)}::text[], ${column((r) => r.email)}::text[], ${column((r) => r.city)}::text[],
        ${column((r) => r.source)}::text[], ${column((r) => r.status)}::text[], ${column((r) => r.assignee)}::text[],
        ${column((r) => r.notes)}::text[], ${column((r) => r.createdAt.toISOString())}::timestamptz[],
        ${column((r) => r.updatedAt.toISOString())}::timestamptz[])
        as s(e, n, p, m, c, so, st, a, no, cr, u)`.execute(db);
  }
}

async function emptyTarget(db: Db): Promise<void> {
  await sql`truncate leads`.execute(db);
  await db.deleteFrom('sync_cursors').execute();
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

export async function run(): Promise<Verdict[]> {
  const rows = positiveNumberFromEnv('BENCH_ROWS', 100_000);
  const runs = positiveNumberFromEnv('BENCH_RUNS', 3);
  say(`seeding ${rows.toLocaleString('en-US')} leads in MariaDB`);
  const source = await seedSource(rows);
  const target = await scratchPostgres();
  try {
    const config = parseConfig({
      JWT_SECRET: jwtSecretForScratch(),
      DATABASE_URL: target.url,
      LEADS_MYSQL_URL: source.url,
      LEADS_SYNC_BATCH_SIZE: String(BATCH),
      SYNC_TIMEOUT_MS: '120000',
    });
    const sync = (full: boolean) =>
      syncLeads({ db: target.db, config, logger: createLogger('error'), signal: new AbortController().signal, full });

    // The anchor inserts exactly what the sync would write: read and validated once, outside the timing.
    say('reading the rows once for the anchor');
    await sync(false);
    const stored = await target.db.selectFrom('leads').selectAll().orderBy('external_id').execute();
    const records: LeadRecord[] = stored.map((l) => ({
      externalId: l.external_id,
      name: l.name,
      phone: l.phone,
      email: l.email,
      city: l.city,
      source: l.source,
      status: l.status,
      assignee: l.source_assignee,
      notes: l.notes,
      createdAt: l.created_at,
      updatedAt: l.updated_at,
    }));
    if (records.length !== rows) throw new Error(`the sync stored ${records.length} of ${rows} rows`);

    const samples = { sync: [] as number[], anchor: [] as number[], resync: [] as number[] };
    for (let i = 0; i < runs; i++) {
      await emptyTarget(target.db);
      let started = performance.now();
      await unnestInsert(target.db, records);
      samples.anchor.push(rows / ((performance.now() - started) / 1000));

      await emptyTarget(target.db);
      started = performance.now();
      const result = await sync(false);
      samples.sync.push(rows / ((performance.now() - started) / 1000));
      if (result.recordsProcessed !== rows)
        throw new Error(`sync processed ${result.recordsProcessed}: ${result.message}`);

      started = performance.now();
      const again = await sync(true);
      samples.resync.push(rows / ((performance.now() - started) / 1000));
      if (!again.message.includes(`${rows} unchanged`)) throw new Error(`full resync changed rows: ${again.message}`);
      say(
        `run ${i + 1}/${runs}: sync ${Math.round(samples.sync.at(-1) ?? 0)} rows/s, anchor ${Math.round(samples.anchor.at(-1) ?? 0)} rows/s`,
      );
    }

    const [syncRate, anchorRate, resyncRate] = [median(samples.sync), median(samples.anchor), median(samples.resync)];
    console.log(
      `\n${rows.toLocaleString('en-US')} leads, MariaDB -> ${target.kind}, batches of ${BATCH}, median of ${runs}\n`,
    );
    console.log(
      formatTable(
        ['', 'rows/s', 'vs anchor'],
        [
          [
            'leads_sync, empty target (read + validate + upsert + cursor)',
            Math.round(syncRate).toLocaleString('en-US'),
            `${(syncRate / anchorRate).toFixed(2)}x`,
          ],
          [
            'leads_sync --full, nothing changed',
            Math.round(resyncRate).toLocaleString('en-US'),
            `${(resyncRate / anchorRate).toFixed(2)}x`,
          ],
          ['plain UNNEST insert of the same rows (anchor)', Math.round(anchorRate).toLocaleString('en-US'), '1.00x'],
        ],
      ),
    );
    console.log('');
    return [
      {
        bench: 'sync',
        target: `leads_sync >= ${TARGET_ROWS_PER_SECOND.toLocaleString('en-US')} rows/s (UNNEST anchor ${Math.round(anchorRate).toLocaleString('en-US')} rows/s)`,
        measured: `${Math.round(syncRate).toLocaleString('en-US')} rows/s (${(syncRate / anchorRate).toFixed(2)}x the anchor)`,
        pass: syncRate >= TARGET_ROWS_PER_SECOND,
      },
    ];
  } finally {
    await target.stop();
    await source.drop();
  }
}
