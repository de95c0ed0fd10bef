import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken } from '../lib/auth/tokens.ts';
import { computeOperatorRatings } from '../lib/vending/jobs.ts';
import { appFor } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { apiAs, seedMachine, seedProduct, seedReservation, seedTask, seedUsers } from './support/vending.ts';

describe.each(databaseKinds())('vending API (%s)', (kind) => {
  let database: TestDatabase;
  let harness: ReturnType<typeof appFor>;
  let manager: ReturnType<typeof apiAs>;
  let opA: ReturnType<typeof apiAs>;
  let opB: ReturnType<typeof apiAs>;
  let ids: { manager: string; a: string; b: string; agent: string };

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    harness = appFor({ DATABASE_URL: database.url });
    const [m, a, b, agent] = await seedUsers(database.db, ['manager', 'operator', 'operator', 'agent'] as const);
    const token = (u: { id: string; role: typeof m.role }) =>
      signAccessToken(harness.services.config.auth.tokens, { userId: u.id, role: u.role });
    manager = apiAs(harness.app, await token(m));
    opA = apiAs(harness.app, await token(a));
    opB = apiAs(harness.app, await token(b));
    ids = { manager: m.id, a: a.id, b: b.id, agent: agent.id };
  });
  afterAll(async () => {
    await harness?.close();
    await database?.drop();
  });

  describe('machines, locations and products', () => {
    it('a manager adds a location and machines; the list filters by status, location and text, in code order', async () => {
      const location = await manager.post('/api/locations', { code: 'LOC-API', name: 'Airport', address: 'Gate 4' });
      expect(location.status).toBe(201);
      const made = [];
      for (const [code, status] of [
        ['API-003', 'active'],
        ['API-001', 'maintenance'],
        ['API-002', 'active'],
      ] as const) {
        const res = await manager.post('/api/machines', {
          code,
          name: `Coffee ${code}`,
          locationId: location.body.id,
          status,
        });
        expect(res.status).toBe(201);
        made.push(res.body);
      }
      expect(made[0].location).toEqual({ id: location.body.id, code: 'LOC-API', name: 'Airport' });

      const byLocation = await manager.get(`/api/machines?locationId=${location.body.id}`);
      expect(byLocation.body.items.map((m: { code: string }) => m.code)).toEqual(['API-001', 'API-002', 'API-003']);
      const active = await manager.get(`/api/machines?locationId=${location.body.id}&status=active`);
      expect(active.body.items.map((m: { code: string }) => m.code)).toEqual(['API-002', 'API-003']);
      const text = await manager.get('/api/machines?q=coffee%20api-00');
      expect(text.body.items).toHaveLength(3);
      // Operators read machines.
      expect((await opA.get(`/api/machines/${made[1].id}`)).body.status).toBe('maintenance');
    });

    it('keyset pages cover every machine once, in order', async () => {
      for (let i = 0; i < 7; i++) await seedMachine(database.db, { code: `PAGE-${String(i).padStart(2, '0')}` });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await manager.get(`/api/machines?q=PAGE-&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status).toBe(200);
        seen.push(...res.body.items.map((m: { code: string }) => m.code));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => `PAGE-${String(i).padStart(2, '0')}`));
    });

    it('a second machine with the same code is 409 and the first is unchanged', async () => {
      const first = await manager.post('/api/machines', { code: 'DUP-1', name: 'First' });
      expect(first.status).toBe(201);
      const again = await manager.post('/api/machines', { code: 'DUP-1', name: 'Second' });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('CONFLICT');
      expect((await manager.get(`/api/machines/${first.body.id}`)).body.name).toBe('First');
    });

    it('PATCH changes status and service time; an unknown location is 404 and nothing changes', async () => {
      const machine = await seedMachine(database.db);
      const at = '2026-11-20T08:30:00.000Z';
      const res = await manager.patch(`/api/machines/${machine.id}`, { status: 'offline', lastServicedAt: at });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'offline', lastServicedAt: at });
      const bad = await manager.patch(`/api/machines/${machine.id}`, { locationId: randomUUID(), status: 'active' });
      expect(bad.status).toBe(404);
      expect((await manager.get(`/api/machines/${machine.id}`)).body.status).toBe('offline');
    });

    it('operators may read but not write machines, locations or products', async () => {
      expect((await opA.post('/api/machines', { code: 'OP-1', name: 'No' })).status).toBe(403);
      expect((await opA.post('/api/locations', { code: 'OP-L', name: 'No' })).status).toBe(403);
      expect((await opA.post('/api/products', { sku: 'OP-P', name: 'No' })).status).toBe(403);
      expect((await opA.get('/api/locations')).status).toBe(200);
      expect((await opA.get('/api/products')).status).toBe(200);
    });

    it('products keep exact decimal prices; a bad price or a duplicate SKU is refused', async () => {
      const product = await manager.post('/api/products', { sku: 'WATER-05', name: 'Water 0.5', price: '0.10' });
      expect(product.status).toBe(201);
      expect(product.body).toMatchObject({ price: '0.10', unit: 'pcs', isActive: true });
      expect((await manager.post('/api/products', { sku: 'WATER-06', name: 'W', price: '1.234' })).status).toBe(400);
      expect((await manager.post('/api/products', { sku: 'WATER-05', name: 'Again' })).status).toBe(409);
      const list = await manager.get('/api/products?limit=200');
      expect(list.body.items.filter((p: { sku: string }) => p.sku === 'WATER-05')).toHaveLength(1);
    });
  });

  describe('tasks', () => {
    it('a task created with an operator is assigned; without one it is pending; a non-operator cannot be assigned', async () => {
      const machine = await seedMachine(database.db);
      const dueAt = new Date(Date.now() + 86_400_000).toISOString();
      const assigned = await manager.post('/api/tasks', {
        machineId: machine.id,
        type: 'refill',
        dueAt,
        assignedTo: ids.a,
      });
      expect(assigned.status).toBe(201);
      expect(assigned.body).toMatchObject({ status: 'assigned', assignedTo: ids.a, machine: { code: machine.code } });
      const pending = await manager.post('/api/tasks', { machineId: machine.id, type: 'collection', dueAt });
      expect(pending.body.status).toBe('pending');
      expect(pending.body.number).toBeGreaterThan(assigned.body.number);

      const toAgent = await manager.post(`/api/tasks/${pending.body.id}/assign`, { operatorId: ids.agent });
      expect(toAgent.status).toBe(404);
      expect((await manager.get(`/api/tasks/${pending.body.id}`)).body.status).toBe('pending');
      const toB = await manager.post(`/api/tasks/${pending.body.id}/assign`, { operatorId: ids.b });
      expect(toB.body).toMatchObject({ status: 'assigned', assignedTo: ids.b });
      expect((await manager.post('/api/tasks', { machineId: randomUUID(), type: 'refill', dueAt })).status).toBe(404);
    });

    it("operator A cannot read, complete or cancel operator B's task (404), and the task is untouched", async () => {
      const machine = await seedMachine(database.db);
      const task = await seedTask(database.db, { machineId: machine.id, assignedTo: ids.b });
      const product = await seedProduct(database.db);
      await seedReservation(database.db, { taskId: task.id, productId: product.id });

      for (const res of [await opA.get(`/api/tasks/${task.id}`), await opA.post(`/api/tasks/${task.id}/complete`)]) {
        expect(res.status).toBe(404);
        expect(res.body.error.code).toBe('NOT_FOUND');
      }
      expect((await opA.post(`/api/tasks/${task.id}/cancel`)).status).toBe(403);
      const list = await opA.get(`/api/tasks?machineId=${machine.id}`);
      expect(list.body.items).toEqual([]);
      const mine = await opB.get(`/api/tasks?machineId=${machine.id}`);
      expect(mine.body.items.map((t: { id: string }) => t.id)).toEqual([task.id]);
      const row = await database.db.selectFrom('tasks').selectAll().where('id', '=', task.id).executeTakeFirstOrThrow();
      expect(row.status).toBe('assigned');
      const reservation = await database.db
        .selectFrom('inventory_reservations')
        .select('status')
        .where('task_id', '=', task.id)
        .executeTakeFirstOrThrow();
      expect(reservation.status).toBe('active');
    });

    it("an operator lists only their own tasks, even when asking for someone else's", async () => {
      const machine = await seedMachine(database.db);
      const mine = await seedTask(database.db, { machineId: machine.id, assignedTo: ids.a });
      await seedTask(database.db, { machineId: machine.id, assignedTo: ids.b });
      await seedTask(database.db, { machineId: machine.id });
      const own = await opA.get(`/api/tasks?machineId=${machine.id}`);
      expect(own.body.items.map((t: { id: string }) => t.id)).toEqual([mine.id]);
      expect((await opA.get(`/api/tasks?machineId=${machine.id}&assignedTo=${ids.b}`)).body.items).toEqual([]);
      expect((await manager.get(`/api/tasks?machineId=${machine.id}`)).body.items).toHaveLength(3);
    });

    it('completing a task releases its active reservations and leaves released/expired ones alone', async () => {
      const machine = await seedMachine(database.db);
      const task = await seedTask(database.db, { machineId: machine.id, assignedTo: ids.a });
      const product = await seedProduct(database.db);
      const active = await manager.post(`/api/tasks/${task.id}/reservations`, { productId: product.id, quantity: 12 });
      expect(active.status).toBe(201);
      const expired = await seedReservation(database.db, { taskId: task.id, productId: product.id, status: 'expired' });

      const done = await opA.post(`/api/tasks/${task.id}/complete`);
      expect(done.status).toBe(200);
      expect(done.body.releasedReservations).toBe(1);
      expect(done.body.task).toMatchObject({ status: 'completed', completedBy: ids.a });
      const detail = await opA.get(`/api/tasks/${task.id}`);
      const statuses = Object.fromEntries(
        detail.body.reservations.map((r: { id: string; status: string }) => [r.id, r.status]),
      );
      expect(statuses).toEqual({ [active.body.id]: 'released', [expired.id]: 'expired' });

      const again = await opA.post(`/api/tasks/${task.id}/complete`);
      expect(again.status).toBe(409);
      expect(
        (await manager.post(`/api/tasks/${task.id}/reservations`, { productId: product.id, quantity: 1 })).status,
      ).toBe(409);
    });

    it('completion and the release are one transaction: if releasing fails, the task stays open', async () => {
      const machine = await seedMachine(database.db);
      const task = await seedTask(database.db, { machineId: machine.id, assignedTo: ids.a });
      const product = await seedProduct(database.db);
      await seedReservation(database.db, { taskId: task.id, productId: product.id });
      await sql`create function refuse_release() returns trigger language plpgsql as $$
        begin raise exception 'release refused by test'; end $$`.execute(database.db);
      await sql`create trigger refuse_release before update on inventory_reservations
        for each row when (new.task_id = ${sql.lit(task.id)}::uuid) execute function refuse_release()`.execute(
        database.db,
      );
      try {
        const res = await opA.post(`/api/tasks/${task.id}/complete`);
        expect(res.status).toBe(500);
        const row = await database.db
          .selectFrom('tasks')
          .select(['status', 'completed_at'])
          .where('id', '=', task.id)
          .executeTakeFirstOrThrow();
        expect(row).toEqual({ status: 'assigned', completed_at: null });
      } finally {
        await sql`drop trigger refuse_release on inventory_reservations`.execute(database.db);
        await sql`drop function refuse_release()`.execute(database.db);
      }
      expect((await opA.post(`/api/tasks/${task.id}/complete`)).status).toBe(200);
    });

    it('cancel releases reservations; a reservation is released once; an inactive product cannot be reserved', async () => {
      const machine = await seedMachine(database.db);
      const task = await seedTask(database.db, { machineId: machine.id });
      const product = await seedProduct(database.db);
      const retired = await seedProduct(database.db, { isActive: false });
      const first = await manager.post(`/api/tasks/${task.id}/reservations`, { productId: product.id, quantity: 2 });
      const second = await manager.post(`/api/tasks/${task.id}/reservations`, { productId: product.id, quantity: 5 });
      expect(
        (await manager.post(`/api/tasks/${task.id}/reservations`, { productId: retired.id, quantity: 1 })).status,
      ).toBe(409);
      expect((await manager.post(`/api/reservations/${first.body.id}/release`)).body.status).toBe('released');
      expect((await manager.post(`/api/reservations/${first.body.id}/release`)).status).toBe(409);
      const cancelled = await manager.post(`/api/tasks/${task.id}/cancel`);
      expect(cancelled.body).toMatchObject({ releasedReservations: 1, task: { status: 'cancelled' } });
      expect(
        (await manager.get(`/api/tasks/${task.id}`)).body.reservations.map((r: { id: string; status: string }) => [
          r.id,
          r.status,
        ]),
      ).toEqual([
        [first.body.id, 'released'],
        [second.body.id, 'released'],
      ]);
    });

    it('a reservation expiring in the past, a zero quantity or a bad date is 4xx and stores nothing', async () => {
      const machine = await seedMachine(database.db);
      const task = await seedTask(database.db, { machineId: machine.id });
      const product = await seedProduct(database.db);
      const path = `/api/tasks/${task.id}/reservations`;
      expect(
        (await manager.post(path, { productId: product.id, quantity: 1, expiresAt: '2020-01-01T00:00:00Z' })).status,
      ).toBe(409);
      expect((await manager.post(path, { productId: product.id, quantity: 0 })).status).toBe(400);
      expect((await manager.post(path, { productId: product.id, quantity: 1, expiresAt: 'tomorrow' })).status).toBe(
        400,
      );
      expect((await manager.post(path, { productId: randomUUID(), quantity: 1 })).status).toBe(404);
      const rows = await database.db
        .selectFrom('inventory_reservations')
        .select('id')
        .where('task_id', '=', task.id)
        .execute();
      expect(rows).toEqual([]);
    });

    it('tasks list soonest due first across keyset pages, with status=open', async () => {
      const machine = await seedMachine(database.db);
      const base = Date.now() + 3_600_000;
      const open = [];
      for (let i = 0; i < 5; i++) {
        open.push(
          await seedTask(database.db, {
            machineId: machine.id,
            assignedTo: ids.a,
            dueAt: new Date(base + (5 - i) * 60_000),
          }),
        );
      }
      await seedTask(database.db, {
        machineId: machine.id,
        assignedTo: ids.a,
        status: 'completed',
        completedAt: new Date(),
      });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await opA.get(
          `/api/tasks?machineId=${machine.id}&status=open&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        seen.push(...res.body.items.map((t: { id: string }) => t.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(open.map((t) => t.id).reverse());
    });
  });

  describe('ratings', () => {
    it('lists a day best first; an operator sees only their own row', async () => {
      const machine = await seedMachine(database.db);
      const day = '2026-03-10';
      const at = (h: number) => new Date(`${day}T${String(h).padStart(2, '0')}:00:00Z`);
      await seedTask(database.db, {
        machineId: machine.id,
        assignedTo: ids.a,
        status: 'completed',
        dueAt: at(12),
        completedAt: at(10),
      });
      await seedTask(database.db, {
        machineId: machine.id,
        assignedTo: ids.b,
        status: 'completed',
        dueAt: at(9),
        completedAt: at(10),
      });
      await computeOperatorRatings(database.db, day);
      const all = await manager.get(`/api/ratings?period=${day}`);
      expect(all.body.items.map((r: { operatorId: string; score: string }) => [r.operatorId, r.score])).toEqual([
        [ids.a, '100.00'],
        [ids.b, '50.00'],
      ]);
      const own = await opB.get(`/api/ratings?period=${day}`);
      expect(own.body.items.map((r: { operatorId: string }) => r.operatorId)).toEqual([ids.b]);
      expect((await manager.get('/api/ratings?period=2026-02-30')).status).toBe(400);
    });
  });
});
