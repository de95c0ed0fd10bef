import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedVendingDemo } from '../local/demo/vending.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';

const TABLES = [
  'locations',
  'nomenclature',
  'machines',
  'tasks',
  'inventory_reservations',
  'operator_ratings',
  'users',
] as const;

describe.each(databaseKinds())('npm run dev demo fleet (%s)', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await database?.drop();
  });

  const counts = async () => {
    const result: Record<string, number> = {};
    for (const table of TABLES) {
      const row = await database.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      result[table] = Number(row.n);
    }
    return result;
  };

  it('has tasks in every state, reservations in every state, operators and a rating', async () => {
    await seedVendingDemo(database.db, { iterations: 1000 });
    const statuses = await database.db.selectFrom('tasks').select('status').distinct().execute();
    expect(statuses.map((s) => s.status).sort()).toEqual(['assigned', 'cancelled', 'completed', 'overdue', 'pending']);
    const reservations = await database.db.selectFrom('inventory_reservations').select('status').distinct().execute();
    expect(reservations.map((s) => s.status).sort()).toEqual(['active', 'expired', 'released']);
    const operators = await database.db.selectFrom('users').select('email').where('role', '=', 'operator').execute();
    expect(operators.map((o) => o.email).sort()).toEqual(['operator1@opsbase.local', 'operator2@opsbase.local']);
    expect((await counts()).operator_ratings).toBeGreaterThan(0);
    expect((await counts()).machines).toBe(6);
  });

  it('a restart adds nothing, and a run interrupted half-way completes without duplicates', async () => {
    const before = await counts();
    await seedVendingDemo(database.db, { iterations: 1000 });
    expect(await counts()).toEqual(before);

    // As if the first start died after some rows: the flag is gone and some rows are missing.
    await database.db.deleteFrom('app_settings').where('key', '=', 'demo.vending').execute();
    await database.db.deleteFrom('inventory_reservations').execute();
    await seedVendingDemo(database.db, { iterations: 1000 });
    expect(await counts()).toEqual(before);
  });
});
