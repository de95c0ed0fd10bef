import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';

// The app reaches every Postgres (embedded PGlite, a server, Workers) through pg, with one set of
// type parsers, so a result has one shape wherever it runs.
describe.each(databaseKinds())('result shapes on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('count(*) and bigint are numbers, numeric is an exact string, timestamptz is a Date', async () => {
    const { rows } = await sql<{
      n: unknown;
      big: unknown;
      huge: unknown;
      amount: unknown;
      at: unknown;
      doc: unknown;
      flag: unknown;
    }>`select
        (select count(*) from generate_series(1, 3)) as n,
        9007199254740991::bigint as big,
        9007199254740993::bigint as huge,
        12.30::numeric(10, 2) as amount,
        '2026-11-23T10:00:00Z'::timestamptz as at,
        '{"a": [1, "x"]}'::jsonb as doc,
        true as flag`.execute(database.db);
    expect(rows[0]).toEqual({
      n: 3,
      big: 9007199254740991,
      huge: '9007199254740993', // past 2^53: kept exact as a string rather than rounded
      amount: '12.30',
      at: new Date('2026-11-23T10:00:00Z'),
      doc: { a: [1, 'x'] },
      flag: true,
    });
  });

  it('Kysely count() through the builder is a number', async () => {
    const row = await database.db
      .selectFrom('app_settings')
      .select((eb) => eb.fn.countAll().as('total'))
      .executeTakeFirstOrThrow();
    expect(row.total).toBe(0);
  });
});
