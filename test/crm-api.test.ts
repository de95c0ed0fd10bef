import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appFor } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { envelopeProblems, errorCode, readAnswer } from './support/envelope.ts';
import { loginToken, seedUser } from './support/users.ts';

type ListedLead = { id: string; externalId: string; updatedAt: string; assignedTo: string | null };

describe.each(databaseKinds())('CRM API (%s)', (kind) => {
  let database: TestDatabase;
  let harness: ReturnType<typeof appFor>;
  const tokens: Record<'manager' | 'agentA' | 'agentB' | 'operator', string> = {
    manager: '',
    agentA: '',
    agentB: '',
    operator: '',
  };
  const ids: Record<'agentA' | 'agentB', string> = { agentA: '', agentB: '' };
  /** Lead ids by external id. */
  const leadId: Record<string, string> = {};

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    harness = appFor({ DATABASE_URL: database.url, ATTENDANCE_TIMEZONE: 'America/New_York' });
    const login = async (user: Awaited<ReturnType<typeof seedUser>>) => await loginToken(harness.app, user);
    const manager = await seedUser(database.db, 'manager');
    const agentA = await seedUser(database.db, 'agent');
    const agentB = await seedUser(database.db, 'agent');
    const operator = await seedUser(database.db, 'operator');
    ids.agentA = agentA.id;
    ids.agentB = agentB.id;
    tokens.manager = await login(manager);
    tokens.agentA = await login(agentA);
    tokens.agentB = await login(agentB);
    tokens.operator = await login(operator);

    // 30 leads: 12 for A, 10 for B, 8 unassigned; some share one updated_at (keyset tie-break on id).
    const rows = Array.from({ length: 30 }, (_, i) => ({
      external_id: `L-${String(i + 1).padStart(3, '0')}`,
      name: i === 4 ? 'Zoë O’Brien' : `Lead ${i + 1}`,
      phone: `+91 98000 ${String(i + 1).padStart(5, '0')}`,
      email: `lead${i + 1}@example.com`,
      status: i % 3 === 0 ? 'won' : 'new',
      assigned_to: i < 12 ? agentA.id : i < 22 ? agentB.id : null,
      created_at: new Date('2026-11-01T00:00:00Z'),
      updated_at: new Date(Date.UTC(2026, 10, 10, 0, Math.floor(i / 3))),
    }));
    for (const lead of await database.db.insertInto('leads').values(rows).returning(['id', 'external_id']).execute()) {
      leadId[lead.external_id] = lead.id;
    }

    await database.db
      .insertInto('attendance')
      .values([
        // New York, 2026-11-20 (EST, UTC-5): A works 09:00-12:00 and 13:00-17:30; B forgets to punch out.
        { employee_code: 'E1', employee_name: 'Asha', punched_at: new Date('2026-11-20T14:00:00Z'), direction: 'in' },
        { employee_code: 'E1', employee_name: 'Asha', punched_at: new Date('2026-11-20T17:00:00Z'), direction: 'out' },
        { employee_code: 'E1', employee_name: 'Asha', punched_at: new Date('2026-11-20T18:00:00Z'), direction: 'in' },
        { employee_code: 'E1', employee_name: 'Asha', punched_at: new Date('2026-11-20T22:30:00Z'), direction: 'out' },
        { employee_code: 'E2', employee_name: 'Ravi', punched_at: new Date('2026-11-20T13:30:00Z'), direction: 'in' },
        // 23:30 local on the 20th is 04:30 UTC on the 21st: still the 20th's.
        { employee_code: 'E2', employee_name: 'Ravi', punched_at: new Date('2026-11-21T04:30:00Z'), direction: 'in' },
        // 00:30 local on the 21st.
        { employee_code: 'E2', employee_name: 'Ravi', punched_at: new Date('2026-11-21T05:30:00Z'), direction: 'out' },
      ])
      .execute();
  });
  afterAll(async () => {
    await harness?.close();
    await database?.drop();
  });

  const call = (token: string, method: string, path: string, body?: unknown) =>
    readAnswer(
      harness.app.request(path, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
  const json = (answer: { text: string }) => JSON.parse(answer.text);

  /** Every page of a list, following nextCursor. */
  async function allPages(token: string, path: string): Promise<ListedLead[]> {
    const items: ListedLead[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 50; page++) {
      const separator = path.includes('?') ? '&' : '?';
      const answer = await call(
        token,
        'GET',
        `${path}${cursor ? `${separator}cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(answer.status, answer.text).toBe(200);
      const body = json(answer);
      items.push(...body.items);
      cursor = body.nextCursor;
      if (!cursor) return items;
    }
    throw new Error('more than 50 pages');
  }

  it('pages through every lead once, most recently changed first, with ties broken by id', async () => {
    const items = await allPages(tokens.manager, '/api/leads?limit=7');
    expect(items).toHaveLength(30);
    expect(new Set(items.map((l) => l.externalId)).size).toBe(30);
    const keys = items.map((l) => `${l.updatedAt}|${l.id}`);
    expect(keys).toEqual([...keys].sort().reverse());
  });

  it('filters by status, assignee, text and updated_since, and combines them', async () => {
    const won = await allPages(tokens.manager, '/api/leads?status=WON');
    expect(won.map((l) => l.externalId).sort()).toEqual(
      ['L-001', 'L-004', 'L-007', 'L-010', 'L-013', 'L-016', 'L-019', 'L-022', 'L-025', 'L-028'].sort(),
    );
    const ofB = await allPages(tokens.manager, `/api/leads?assigned_to=${ids.agentB}&limit=3`);
    expect(ofB).toHaveLength(10);
    expect(ofB.every((l) => l.assignedTo === ids.agentB)).toBe(true);
    expect((await allPages(tokens.manager, '/api/leads?q=zo%C3%AB')).map((l) => l.externalId)).toEqual(['L-005']);
    expect((await allPages(tokens.manager, '/api/leads?q=98000%2000017')).map((l) => l.externalId)).toEqual(['L-017']);
    expect((await allPages(tokens.manager, '/api/leads?q=LEAD3%40')).map((l) => l.externalId)).toEqual(['L-003']);
    // A literal % matches itself, not everything.
    expect(await allPages(tokens.manager, '/api/leads?q=%25')).toEqual([]);
    const recent = await allPages(tokens.manager, '/api/leads?updated_since=2026-11-10T00:08:00Z');
    expect(recent.map((l) => l.externalId).sort()).toEqual(['L-025', 'L-026', 'L-027', 'L-028', 'L-029', 'L-030']);
    const both = await allPages(tokens.manager, `/api/leads?status=won&assigned_to=${ids.agentA}`);
    expect(both.map((l) => l.externalId).sort()).toEqual(['L-001', 'L-004', 'L-007', 'L-010']);
  });

  it('an agent lists only their own leads, whatever filter they ask for', async () => {
    const mine = await allPages(tokens.agentA, '/api/leads?limit=5');
    expect(mine).toHaveLength(12);
    expect(await allPages(tokens.agentA, `/api/leads?assigned_to=${ids.agentB}`)).toEqual([]);
  });

  it("agent A cannot read or patch B's lead (404, as if it did not exist), and B's lead is unchanged", async () => {
    const bLead = leadId['L-015'] as string;
    const read = await call(tokens.agentA, 'GET', `/api/leads/${bLead}`);
    expect(read.status).toBe(404);
    expect(envelopeProblems(read)).toEqual([]);
    const patch = await call(tokens.agentA, 'PATCH', `/api/leads/${bLead}`, { status: 'lost', notes: 'mine now' });
    expect(patch.status).toBe(404);
    expect(errorCode(patch)).toBe('NOT_FOUND');
    const stored = await database.db.selectFrom('leads').selectAll().where('id', '=', bLead).executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ status: 'new', notes: null, assigned_to: ids.agentB, edited_at: null });
    expect((await call(tokens.agentB, 'GET', `/api/leads/${bLead}`)).status).toBe(200);
  });

  it('an agent updates status and notes of their own lead, but may not reassign it', async () => {
    const own = leadId['L-002'] as string;
    const answer = await call(tokens.agentA, 'PATCH', `/api/leads/${own}`, {
      status: 'Contacted',
      notes: 'Call back Monday',
    });
    expect(answer.status, answer.text).toBe(200);
    expect(json(answer)).toMatchObject({ status: 'contacted', notes: 'Call back Monday', assignedTo: ids.agentA });
    expect(Date.parse(json(answer).updatedAt)).toBeGreaterThan(Date.parse('2026-11-10T00:01:00Z'));
    const reassign = await call(tokens.agentA, 'PATCH', `/api/leads/${own}`, { assignedTo: ids.agentB });
    expect(reassign.status).toBe(403);
    expect(errorCode(reassign)).toBe('FORBIDDEN');
  });

  it('a manager reassigns a lead; the assignee must be an active user who can hold leads', async () => {
    const lead = leadId['L-030'] as string;
    const ok = await call(tokens.manager, 'PATCH', `/api/leads/${lead}`, { assignedTo: ids.agentA });
    expect(ok.status, ok.text).toBe(200);
    expect(json(ok).assignedTo).toBe(ids.agentA);
    expect((await call(tokens.agentA, 'GET', `/api/leads/${lead}`)).status).toBe(200);
    const operator = await seedUser(database.db, 'operator');
    const bad = await call(tokens.manager, 'PATCH', `/api/leads/${lead}`, { assignedTo: operator.id });
    expect(bad.status).toBe(400);
    expect(envelopeProblems(bad)).toEqual([]);
    const unassign = await call(tokens.manager, 'PATCH', `/api/leads/${lead}`, { assignedTo: null });
    expect(json(unassign).assignedTo).toBeNull();
  });

  it('refuses bad input with 400 and the envelope, and changes nothing', async () => {
    const lead = leadId['L-003'] as string;
    const before = await database.db.selectFrom('leads').selectAll().where('id', '=', lead).executeTakeFirstOrThrow();
    const cases: [string, string, unknown?][] = [
      ['GET', '/api/leads?limit=0'],
      ['GET', '/api/leads?assigned_to=someone'],
      ['GET', '/api/leads?updated_since=yesterday'],
      ['GET', '/api/leads?q='],
      ['GET', '/api/leads?cursor=not-a-cursor'],
      ['GET', '/api/leads?sort=name'],
      ['GET', '/api/leads/not-a-uuid'],
      ['PATCH', `/api/leads/${lead}`, {}],
      ['PATCH', `/api/leads/${lead}`, { status: '' }],
      ['PATCH', `/api/leads/${lead}`, { status: 'x'.repeat(51) }],
      ['PATCH', `/api/leads/${lead}`, { assignedTo: 'agent-a' }],
      ['PATCH', `/api/leads/${lead}`, { external_id: 'L-999' }],
      ['PATCH', `/api/leads/${lead}`, { notes: 42 }],
      ['GET', '/api/attendance?from=2026-11-21&to=2026-11-20'],
      ['GET', '/api/attendance?from=2026-02-30'],
      ['GET', '/api/attendance/daily?date=20-11-2026'],
    ];
    for (const [method, path, body] of cases) {
      const answer = await call(tokens.manager, method, path, body);
      expect(answer.status, `${method} ${path} ${JSON.stringify(body)}: ${answer.text}`).toBe(400);
      expect(envelopeProblems(answer), path).toEqual([]);
    }
    expect(await database.db.selectFrom('leads').selectAll().where('id', '=', lead).executeTakeFirstOrThrow()).toEqual(
      before,
    );
  });

  it('attendance: operators may not read it; managers list punches by employee and local days', async () => {
    expect((await call(tokens.operator, 'GET', '/api/attendance')).status).toBe(403);
    expect((await call(tokens.agentA, 'GET', '/api/attendance')).status).toBe(403);
    const day = json(await call(tokens.manager, 'GET', '/api/attendance?from=2026-11-20&to=2026-11-20&limit=2'));
    expect(day.items.map((p: { punchedAt: string }) => p.punchedAt)).toEqual([
      '2026-11-21T04:30:00.000Z',
      '2026-11-20T22:30:00.000Z',
    ]);
    const rest = json(
      await call(tokens.manager, `GET`, `/api/attendance?from=2026-11-20&to=2026-11-20&cursor=${day.nextCursor}`),
    );
    expect(rest.items).toHaveLength(4);
    expect(rest.nextCursor).toBeNull();
    const ravi = json(await call(tokens.manager, 'GET', '/api/attendance?employee=E2'));
    expect(ravi.items).toHaveLength(3);
  });

  it('attendance/daily: first in, last out, paired hours and missing punches per employee', async () => {
    const answer = await call(tokens.manager, 'GET', '/api/attendance/daily?date=2026-11-20');
    expect(answer.status, answer.text).toBe(200);
    expect(json(answer)).toEqual({
      date: '2026-11-20',
      timeZone: 'America/New_York',
      employees: [
        {
          employeeCode: 'E1',
          employeeName: 'Asha',
          firstIn: '2026-11-20T14:00:00.000Z',
          lastOut: '2026-11-20T22:30:00.000Z',
          hours: 7.5,
          punches: 4,
          missingPunches: 0,
        },
        {
          employeeCode: 'E2',
          employeeName: 'Ravi',
          firstIn: '2026-11-20T13:30:00.000Z',
          lastOut: null,
          hours: 0,
          punches: 2,
          missingPunches: 2,
        },
      ],
    });
    const next = json(await call(tokens.manager, 'GET', '/api/attendance/daily?date=2026-11-21'));
    expect(next.employees).toEqual([
      expect.objectContaining({ employeeCode: 'E2', missingPunches: 1, lastOut: '2026-11-21T05:30:00.000Z' }),
    ]);
    const today = json(await call(tokens.manager, 'GET', '/api/attendance/daily'));
    expect(today.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});
