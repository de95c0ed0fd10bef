import { readFileSync } from 'node:fs';
import { generatePassword } from '../../lib/auth/bootstrap.ts';
import { hashPassword, type PasswordPolicy } from '../../lib/auth/password.ts';
import type { Db } from '../../lib/db/connection.ts';
import { createUser, findUserByEmail } from '../../lib/users.ts';
import { seedDictionaries } from '../../lib/vending/dictionaries.ts';
import { parseDictionaryFile } from '../../lib/vending/dictionary-file.ts';
import { computeOperatorRatings, previousDay } from '../../lib/vending/jobs.ts';
import type { MachineStatus, ReservationStatus, TaskStatus, TaskType } from '../../schema/database.ts';

// Demo data for `npm run dev`: the sample dictionaries, two operators, six machines and tasks in
// every state (with reservations and yesterday's ratings). Every row has a fixed id and is
// inserted with ON CONFLICT DO NOTHING, and a settings flag marks the demo as done: restarts add
// nothing, and a start interrupted half-way completes on the next one.

const DONE_FLAG = 'demo.vending';
const SAMPLE = new URL('../../seeds/dictionaries.json', import.meta.url);
const HOUR = 3_600_000;

/** A fixed uuid per demo row, so a second run finds the first run's rows. */
const demoId = (kind: number, n: number) =>
  `00000000-de30-4000-8000-${(kind * 1000 + n).toString(16).padStart(12, '0')}`;

const MACHINES: [code: string, name: string, location: string, status: MachineStatus][] = [
  ['M-001', 'Coffee, hall B', 'LOC-CENTRAL', 'active'],
  ['M-002', 'Snacks, hall B', 'LOC-CENTRAL', 'active'],
  ['M-003', 'Drinks, arrivals', 'LOC-AIRPORT', 'active'],
  ['M-004', 'Coffee, library', 'LOC-UNI', 'maintenance'],
  ['M-005', 'Snacks, food court', 'LOC-MALL', 'offline'],
  ['M-006', 'Drinks, outpatient lobby', 'LOC-HOSP', 'retired'],
];

type DemoTask = {
  machine: number;
  type: TaskType;
  status: TaskStatus;
  operator: 0 | 1 | null;
  /** Hours from now; for a completed task, from 10:00 UTC today, so its hours fall on yesterday. */
  due: number;
  completed?: number;
  reservation?: ReservationStatus;
};

const TASKS: DemoTask[] = [
  { machine: 0, type: 'refill', status: 'pending', operator: null, due: 24, reservation: 'active' },
  { machine: 1, type: 'refill', status: 'assigned', operator: 0, due: 4, reservation: 'active' },
  { machine: 2, type: 'collection', status: 'assigned', operator: 1, due: 30 },
  { machine: 3, type: 'maintenance', status: 'overdue', operator: 0, due: -3, reservation: 'expired' },
  { machine: 0, type: 'refill', status: 'completed', operator: 1, due: -20, completed: -22, reservation: 'released' },
  { machine: 1, type: 'collection', status: 'completed', operator: 0, due: -26, completed: -21 },
  { machine: 4, type: 'maintenance', status: 'cancelled', operator: null, due: -10 },
];

/** Adds the demo fleet once per database; prints the operators' logins the first time. */
export async function seedVendingDemo(db: Db, policy: PasswordPolicy): Promise<void> {
  const done = await db.selectFrom('app_settings').select('key').where('key', '=', DONE_FLAG).executeTakeFirst();
  if (done) return;

  await seedDictionaries(db, parseDictionaryFile('dictionaries.json', readFileSync(SAMPLE, 'utf8')));
  const locations = new Map(
    (await db.selectFrom('locations').select(['id', 'code']).execute()).map((l) => [l.code, l.id]),
  );
  const products = await db.selectFrom('nomenclature').select('id').orderBy('sku').limit(3).execute();

  const logins: string[] = [];
  const operators: string[] = [];
  for (const n of [1, 2]) {
    const email = `operator${n}@opsbase.local`;
    let user = await findUserByEmail(db, email);
    if (!user) {
      const password = generatePassword();
      user = await createUser(db, {
        email,
        name: `Demo Operator ${n}`,
        role: 'operator',
        passwordHash: await hashPassword(password, policy),
      });
      logins.push(`${email} / ${password}`);
    }
    operators.push(user.id);
  }

  const now = Date.now();
  await db
    .insertInto('machines')
    .values(
      MACHINES.map(([code, name, location, status], i) => ({
        id: demoId(1, i),
        code,
        name,
        location_id: locations.get(location) ?? null,
        status,
        last_serviced_at: new Date(now - (i + 1) * 26 * HOUR),
      })),
    )
    .onConflict((oc) => oc.doNothing())
    .execute();
  // Completed tasks fall on yesterday (UTC), the day the ratings below score, at whatever hour
  // the demo is set up: 22 hours ago is today after 22:00 UTC.
  const yesterdayNoon = now - (now % (24 * HOUR)) - 12 * HOUR;
  const baseOf = (t: DemoTask) => (t.completed === undefined ? now : yesterdayNoon + 22 * HOUR);
  await db
    .insertInto('tasks')
    .values(
      TASKS.map((t, i) => ({
        id: demoId(2, i),
        machine_id: demoId(1, t.machine),
        type: t.type,
        status: t.status,
        assigned_to: t.operator === null ? null : (operators[t.operator] ?? null),
        due_at: new Date(baseOf(t) + t.due * HOUR),
        completed_at: t.completed === undefined ? null : new Date(baseOf(t) + t.completed * HOUR),
        completed_by: t.completed === undefined || t.operator === null ? null : (operators[t.operator] ?? null),
        cancelled_at: t.status === 'cancelled' ? new Date(now - 12 * HOUR) : null,
        notes: 'demo',
      })),
    )
    .onConflict((oc) => oc.doNothing())
    .execute();
  const reserved = TASKS.flatMap((t, i) => (t.reservation ? [{ task: i, status: t.reservation }] : []));
  await db
    .insertInto('inventory_reservations')
    .values(
      reserved.map((r, i) => ({
        id: demoId(3, i),
        task_id: demoId(2, r.task),
        product_id: products[i % products.length]?.id as string,
        quantity: 6 + i * 6,
        status: r.status,
        expires_at: new Date(now + (r.status === 'active' ? 24 : -1) * HOUR),
        released_at: r.status === 'active' ? null : new Date(now - HOUR),
      })),
    )
    .onConflict((oc) => oc.doNothing())
    .execute();
  await computeOperatorRatings(db, previousDay(new Date(now)));
  await db
    .insertInto('app_settings')
    .values({ key: DONE_FLAG, value: JSON.stringify({ at: new Date(now).toISOString() }) })
    .onConflict((oc) => oc.doNothing())
    .execute();

  console.log(
    [
      `Demo fleet added: ${MACHINES.length} machines, ${TASKS.length} tasks in every state.`,
      ...(logins.length > 0 ? [`  Demo operator logins (shown once): ${logins.join(', ')}`] : []),
    ].join('\n'),
  );
}
