import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

// pglite-socket serves every connection from one PGlite; local/pglite-queue.ts keeps each
// client's Parse/Bind/Execute/Sync batch together (it interleaved them once several clients
// queued behind an open transaction, mixing one client's statement with another's parameters).
describe('the embedded PGlite under concurrent clients', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('pglite');
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('parameterized queries from many connections stay whole while another holds a transaction', async () => {
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    const pool = new pg.Pool({ connectionString: database.url, max: 6 });
    try {
      // Every pool connection open and idle first, so all of them queue at once below.
      const clients = await Promise.all(Array.from({ length: 6 }, () => pool.connect()));
      for (const client of clients) client.release();
      await holder.query('begin isolation level repeatable read');
      await holder.query('select count(*) from users');
      // These queue behind the open transaction, then all run once it ends.
      const pending = Array.from({ length: 60 }, (_, i) => {
        const values = Array.from({ length: (i % 7) + 1 }, (_, j) => i * 100 + j);
        const placeholders = values.map((_, j) => `$${j + 1}::int`).join(' + ');
        return pool.query<{ sum: number }>(`select ${placeholders} as sum`, values).then((r) => ({
          expected: values.reduce((a, b) => a + b, 0),
          got: r.rows[0]?.sum,
        }));
      });
      for (let i = 0; i < 5; i++) await holder.query('select $1::int as n', [i]);
      await holder.query('commit');
      const results = await Promise.all(pending);
      expect(results.filter((r) => r.got !== r.expected)).toEqual([]);
    } finally {
      await holder.end();
      await pool.end();
    }
  });
});
