// The load bench's dataset, generated inside the database (generate_series, INSERT ... SELECT):
// staff accounts of every role, leads, a vending fleet with its tasks, and request logs from the
// seed-logs generator. The bench (1M leads, 100k tasks, 10M log rows) and test/load.test.ts (a
// few thousand) share it; a marker row says which sizes a database already holds.
import { sql } from 'kysely';
import type { Db } from '../../lib/db/connection.ts';
import { hourSlots, seedLogUsers, seedRequestLogs } from './log-seed.ts';

export type LoadDatasetSize = { leads: number; tasks: number; logRows: number };

/** Days of request logs, up to now (one partition each). */
const LOG_DAYS = 30;

/** A role a virtual user logs in as, and how many accounts of it the dataset holds. */
export const LOAD_ACCOUNTS = { agent: 200, manager: 50, operator: 100, admin: 20 } as const;
export type LoadRole = keyof typeof LOAD_ACCOUNTS;

/** The email of a load account; password_hash is shared and set per run (setLoadPassword). */
export const loadAccountEmail = (role: LoadRole, index: number) => `load-${role}-${index}@bench.opsbase.test`;

const MARKER_KEY = 'bench.load';
const MACHINES = 300;
const LOCATIONS = 30;
const BATCH = 100_000;

type Marker = LoadDatasetSize & { status: 'seeding' | 'done'; seconds: number };

/** The sizes a finished seed left in this database, if any. */
export async function readLoadDataset(db: Db): Promise<Marker | undefined> {
  const row = await db.selectFrom('app_settings').select('value').where('key', '=', MARKER_KEY).executeTakeFirst();
  return row?.value as Marker | undefined;
}

async function writeMarker(db: Db, marker: Marker): Promise<void> {
  const value = JSON.stringify(marker);
  await db
    .insertInto('app_settings')
    .values({ key: MARKER_KEY, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: new Date() }))
    .execute();
}

export const sameSize = (a: LoadDatasetSize | undefined, b: LoadDatasetSize) =>
  a !== undefined && a.leads === b.leads && a.tasks === b.tasks && a.logRows === b.logRows;

const count = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * Fills an empty, migrated database. `say` gets a line per batch (leads and tasks 100k at a time,
 * log rows a day partition at a time). Completed tasks are seeded without completed_by, so the
 * tasks a load run completes can be told apart and reopened (reopenLoadTasks).
 */
export async function seedLoadDataset(
  db: Db,
  size: LoadDatasetSize,
  options: { passwordHash: string; connections?: number; logDays?: number; say?: (line: string) => void },
): Promise<number> {
  const say = options.say ?? (() => {});
  const started = performance.now();
  await writeMarker(db, { ...size, status: 'seeding', seconds: 0 });

  say(
    `accounts: ${Object.entries(LOAD_ACCOUNTS)
      .map(([role, n]) => `${n} ${role}s`)
      .join(', ')}`,
  );
  for (const [role, n] of Object.entries(LOAD_ACCOUNTS)) {
    await sql`insert into users (email, name, role, password_hash)
      select 'load-' || ${role}::text || '-' || i || '@bench.opsbase.test', initcap(${role}::text) || ' ' || i, ${role}::text, ${options.passwordHash}::text
      from generate_series(0, ${n - 1}) i`.execute(db);
  }

  // Leads spread over a year of changes, each agent holding an equal share.
  const timed = (label: string, total: number) => {
    const at = performance.now();
    return (done: number) => {
      const seconds = (performance.now() - at) / 1000;
      say(`${label}: ${count(done)} of ${count(total)} (${count(done / seconds)} rows/s)`);
    };
  };
  const leadsDone = timed('leads', size.leads);
  for (let from = 1; from <= size.leads; from += BATCH) {
    const to = Math.min(size.leads, from + BATCH - 1);
    await sql`with agent as (
        select id, row_number() over (order by email) - 1 as i from users where email like 'load-agent-%'
      )
      insert into leads (external_id, name, phone, email, city, source, status, assigned_to, created_at, updated_at, synced_at)
      select 'load-' || n, 'Lead ' || n, '+7900' || lpad(n::text, 7, '0'), 'lead' || n || '@example.com',
        (array['Moscow','Kazan','Samara','Tver','Omsk','Perm'])[1 + n % 6],
        (array['site','call','referral','ads'])[1 + n % 4],
        (array['new','new','contacted','qualified','won','lost'])[1 + (n / 7) % 6],
        agent.id, t - interval '30 days', t, t
      from generate_series(${from}::int, ${to}::int) n
      join agent on agent.i = n % ${LOAD_ACCOUNTS.agent}
      cross join lateral (select now() - (n % 525600) * interval '1 minute' as t) c`.execute(db);
    leadsDone(to);
  }

  say(`fleet: ${LOCATIONS} locations, ${MACHINES} machines`);
  await sql`insert into locations (code, name)
    select 'LOAD-LOC-' || n, 'Location ' || n from generate_series(1, ${LOCATIONS}) n`.execute(db);
  await sql`with loc as (select id, row_number() over (order by code) - 1 as i from locations where code like 'LOAD-LOC-%')
    insert into machines (code, name, location_id, status)
    select 'LOAD-M-' || lpad(n::text, 4, '0'), 'Machine ' || n, loc.id,
      (array['active','active','active','maintenance','offline'])[1 + n % 5]
    from generate_series(1, ${MACHINES}) n join loc on loc.i = n % ${LOCATIONS}`.execute(db);
  const tasksDone = timed('tasks', size.tasks);
  for (let from = 1; from <= size.tasks; from += BATCH) {
    const to = Math.min(size.tasks, from + BATCH - 1);
    await sql`with m as (select id, row_number() over (order by code) - 1 as i from machines where code like 'LOAD-M-%'),
        o as (select id, row_number() over (order by email) - 1 as i from users where email like 'load-operator-%')
      insert into tasks (machine_id, type, status, assigned_to, due_at, completed_at)
      select m.id, (array['refill','collection','maintenance'])[1 + n % 3], s.status, o.id,
        date_trunc('milliseconds', now() + ((n % 1440) - 720) * interval '1 hour'),
        case when s.status = 'completed' then now() - (n % 720) * interval '1 hour' end
      from generate_series(${from}::int, ${to}::int) n
      join m on m.i = (n / 7) % ${MACHINES}
      join o on o.i = n % ${LOAD_ACCOUNTS.operator}
      cross join lateral (select (array['assigned','assigned','assigned','overdue','completed','cancelled'])[1 + (n / 3) % 6] as status) s`.execute(
      db,
    );
    tasksDone(to);
  }

  if (size.logRows > 0) {
    const to = new Date();
    const days = options.logDays ?? LOG_DAYS;
    const from = new Date(Math.floor(to.getTime() / 3_600_000) * 3_600_000 - days * 86_400_000);
    say(`request logs: ${count(size.logRows)} rows over ${days} days, a day partition at a time`);
    const { slots } = hourSlots(from, to, { total: size.logRows });
    const userIds = await seedLogUsers(db);
    const at = performance.now();
    await seedRequestLogs(
      db,
      slots,
      { userIds, incidents: [], connections: options.connections ?? 1 },
      ({ day, rows, totalRows }) => {
        const rate = totalRows / ((performance.now() - at) / 1000);
        say(
          `request logs ${day.toISOString().slice(0, 10)}: ${count(rows)} rows; ${count(totalRows)} of ${count(size.logRows)} ` +
            `(${count(rate)} rows/s, ~${Math.round((size.logRows - totalRows) / rate)} s left)`,
        );
      },
    );
  }

  say('vacuum analyze');
  for (const table of ['users', 'leads', 'machines', 'tasks', 'request_logs', 'request_log_minutes']) {
    await sql`vacuum (analyze) ${sql.table(table)}`.execute(db);
  }
  const seconds = (performance.now() - started) / 1000;
  await writeMarker(db, { ...size, status: 'done', seconds });
  return seconds;
}

/** Gives every load account this run's password (one hash, computed once by the caller). */
export async function setLoadPassword(db: Db, passwordHash: string): Promise<void> {
  await db.updateTable('users').set({ password_hash: passwordHash }).where('email', 'like', 'load-%').execute();
}

/** Reopens the tasks earlier load runs completed, so every run starts from the seeded state. */
export async function reopenLoadTasks(db: Db): Promise<number> {
  const result = await db
    .updateTable('tasks')
    .set({ status: 'assigned', completed_at: null, completed_by: null })
    .where('completed_by', 'is not', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
