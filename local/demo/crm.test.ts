import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config.ts';
import { dailyAttendance } from '../../lib/crm/attendance.ts';
import { localDate } from '../../lib/crm/time-zone.ts';
import { TEST_ENV } from '../../test/support/app.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { seedCrmDemo } from './crm.ts';

describe('demo CRM data for npm run dev', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('pglite');
  });
  afterAll(async () => {
    await database?.drop();
  });
  const config = () => parseConfig({ ...TEST_ENV, DATABASE_URL: database.url, ATTENDANCE_TIMEZONE: 'Asia/Kolkata' });
  const counts = async () => ({
    leads: (
      await database.db
        .selectFrom('leads')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
    punches: (
      await database.db
        .selectFrom('attendance')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
    agents: (
      await database.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('role', '=', 'agent')
        .executeTakeFirstOrThrow()
    ).n,
  });

  it('seeds three agents, 300 leads and a week of attendance once; restarts add and restore nothing', async () => {
    const lines: string[] = [];
    expect(await seedCrmDemo(database.db, config(), (line) => lines.push(line))).toBe(true);
    expect(lines).toHaveLength(1);
    const first = await counts();
    expect(first.leads).toBe(300);
    expect(first.agents).toBe(3);
    expect(first.punches).toBeGreaterThan(7 * 12 * 2 - 20);
    // The seven local days before today each have a day of attendance to summarize.
    const yesterday = localDate(new Date(Date.now() - 86_400_000), 'Asia/Kolkata');
    const day = await dailyAttendance(database.db, yesterday, 'Asia/Kolkata');
    expect(day).toHaveLength(12);
    expect(day.some((e) => e.hours > 6)).toBe(true);

    await database.db.deleteFrom('leads').where('external_id', '=', 'DEMO-0001').execute();
    expect(await seedCrmDemo(database.db, config())).toBe(false);
    expect(await counts()).toEqual({ ...first, leads: 299 });
  });
});
