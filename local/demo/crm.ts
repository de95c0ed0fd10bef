/**
 * Demo CRM data for `npm run dev`: three agents, 300 leads and a week of attendance, so the API
 * and the dashboard show something real. Seeded once: a marker in app_settings (and leads that a
 * sync already brought) keep restarts from adding or restoring anything.
 */
import { generatePassword } from '../../lib/auth/bootstrap.ts';
import { hashPassword, type PasswordPolicy } from '../../lib/auth/password.ts';
import type { Config } from '../../lib/config.ts';
import { insertPunchBatch, type PunchRecord } from '../../lib/crm/attendance.ts';
import { dayRange, localDate } from '../../lib/crm/time-zone.ts';
import type { Db } from '../../lib/db/connection.ts';
import { createUser, findUserByEmail } from '../../lib/users.ts';

const MARKER = 'demo:crm';
const LEADS = 300;
const AGENTS = ['agent1@opsbase.local', 'agent2@opsbase.local', 'agent3@opsbase.local'];
const FIRST = [
  'Asha',
  'Rohan',
  'Meera',
  'Vikram',
  'Priya',
  'Arjun',
  'Kavya',
  'Nikhil',
  'Sana',
  'Rahul',
  'Isha',
  'Karan',
];
const LAST = ['Rao', 'Sharma', 'Iyer', 'Singh', 'Patel', 'Mehta', 'Nair', 'Gupta', 'Khan', 'Das', 'Reddy', 'Joshi'];
const CITIES = ['Mumbai', 'Delhi', 'Bengaluru', 'Hyderabad', 'Pune', 'Chennai'];
const SOURCES = ['website', 'referral', 'facebook', 'google-ads', 'walk-in'];
const STATUSES = ['new', 'new', 'contacted', 'qualified', 'proposal', 'won', 'lost'];
const NOTES = [
  'Asked for a callback after 6 pm',
  'Wants a quote by email',
  'Interested in the premium plan',
  null,
  null,
];

/** A small deterministic generator, so every fresh data dir gets the same demo. */
function generator(seed: number) {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  return {
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(list: readonly T[]) => list[Math.floor(next() * list.length)] as T,
  };
}

/** Seeds the demo once, saying what it added; returns whether it did. */
export async function seedCrmDemo(
  db: Db,
  config: Pick<Config, 'auth' | 'crm'>,
  say: (line: string) => void = () => {},
): Promise<boolean> {
  const marked = await db.selectFrom('app_settings').select('key').where('key', '=', MARKER).executeTakeFirst();
  if (marked) return false;
  const existing = await db.selectFrom('leads').select('id').limit(1).executeTakeFirst();
  if (existing) return false;

  const agents = await demoAgents(db, config.auth.password);
  const random = generator(42);
  const now = Date.now();
  const leads = Array.from({ length: LEADS }, (_, i) => {
    const first = random.pick(FIRST);
    const last = random.pick(LAST);
    const created = now - (5 + random.int(60)) * 86_400_000 - random.int(86_400_000);
    const updated = Math.min(now, created + random.int(20) * 86_400_000 + random.int(86_400_000));
    return {
      external_id: `DEMO-${String(i + 1).padStart(4, '0')}`,
      name: `${first} ${last}`,
      phone: `+91 9${String(100_000_000 + random.int(899_999_999))}`,
      email: `${first}.${last}${i + 1}@example.com`.toLowerCase(),
      city: random.pick(CITIES),
      source: random.pick(SOURCES),
      status: random.pick(STATUSES),
      assigned_to: i % 5 === 4 ? null : (agents[i % agents.length] as string),
      notes: random.pick(NOTES),
      created_at: new Date(created - (created % 1000)),
      updated_at: new Date(updated - (updated % 1000)),
    };
  });
  await db
    .insertInto('leads')
    .values(leads)
    .onConflict((oc) => oc.column('external_id').doNothing())
    .execute();

  const punches = demoWeekOfPunches(config.crm.attendance.timeZone, random);
  await insertPunchBatch(db, punches);
  await db
    .insertInto('app_settings')
    .values({ key: MARKER, value: JSON.stringify({ seededAt: new Date(now).toISOString() }) })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  say(
    `Demo CRM data: ${LEADS} leads for ${AGENTS.join(', ')} (give one a password: npx opsbase user set-password --email ${AGENTS[0]}) and ${punches.length} punches over the last 7 days.`,
  );
  return true;
}

async function demoAgents(db: Db, policy: PasswordPolicy): Promise<string[]> {
  const ids: string[] = [];
  // One unknown password for all three (one PBKDF2 hash, not three): set a real one with the CLI.
  const passwordHash = await hashPassword(generatePassword(), policy);
  for (const [i, email] of AGENTS.entries()) {
    const user =
      (await findUserByEmail(db, email)) ??
      (await createUser(db, {
        email,
        name: `Demo Agent ${i + 1}`,
        role: 'agent',
        passwordHash,
      }));
    ids.push(user.id);
  }
  return ids;
}

/** Twelve employees, the last 7 local days: an in and an out each day, a lunch break for some, a forgotten out now and then. */
function demoWeekOfPunches(timeZone: string, random: ReturnType<typeof generator>): PunchRecord[] {
  const punches: PunchRecord[] = [];
  const today = localDate(new Date(), timeZone);
  for (let back = 7; back >= 1; back--) {
    const day = new Date(Date.parse(`${today}T00:00:00Z`) - back * 86_400_000).toISOString().slice(0, 10);
    const start = dayRange(day, timeZone).start.getTime();
    for (let e = 1; e <= 12; e++) {
      const at = (minutes: number) => new Date(start + minutes * 60_000);
      const base = {
        employeeCode: `E${String(e).padStart(3, '0')}`,
        employeeName: `${FIRST[e - 1]} ${LAST[(e * 5) % 12]}`,
        deviceId: e % 2 ? 'GATE-1' : 'GATE-2',
        externalId: null,
      };
      const arrive = 8 * 60 + 30 + random.int(60);
      const leave = 17 * 60 + random.int(120);
      punches.push({ ...base, punchedAt: at(arrive), direction: 'in' });
      if (e % 3 === 0) {
        punches.push(
          { ...base, punchedAt: at(13 * 60), direction: 'out' },
          { ...base, punchedAt: at(13 * 60 + 45), direction: 'in' },
        );
      }
      if (random.int(15) !== 0) punches.push({ ...base, punchedAt: at(leave), direction: 'out' });
    }
  }
  return punches;
}
