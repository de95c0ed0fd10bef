import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ENV } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { type FakeTelegram, startFakeTelegram } from './support/fake-telegram.ts';
import { startTestServer, type TestServer } from './support/node-server.ts';
import { spawnProject, waitFor } from './support/processes.ts';
import { seedMachine, seedProduct, seedReservation, seedTask, seedUsers } from './support/vending.ts';

// The deployment guide's go-live checks, end to end over HTTP: log in and list machines; set the
// webhook with the CLI; Telegram (a local fake Bot API speaking the real protocol) delivers
// /start, /tasks and /done to the running server, which answers through sendMessage.

const SECRET = 'go-live-webhook-secret-0123456789';

describe.each(databaseKinds())('Telegram bot and the go-live checks (%s)', (kind) => {
  let database: TestDatabase;
  let telegram: FakeTelegram;
  let server: TestServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    telegram = await startFakeTelegram();
    env = {
      DATABASE_URL: database.url,
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_API_BASE: telegram.apiBase,
      TELEGRAM_WEBHOOK_SECRET: SECRET,
    };
    server = await startTestServer(env);
  });
  afterAll(async () => {
    await server?.close();
    await telegram?.close();
    await database?.drop();
  });

  const cli = async (...args: string[]) => {
    const run = spawnProject(['bin/opsbase.mjs', 'telegram', ...args], {
      ...TEST_ENV,
      ...env,
      TELEGRAM_WEBHOOK_URL: `${server.url}/api/telegram/webhook`,
    });
    return { code: await run.exited, output: run.output() };
  };
  /** The bot's next message to a chat, waited for (replies are sent after the webhook answers). */
  const replyTo = async (chatId: number, after: number) =>
    waitFor(
      async () => telegram.sent().filter((m) => m.chatId === chatId)[after]?.text,
      15_000,
      `a reply to ${chatId}`,
    );
  const say = async (chatId: number, text: string) => {
    const already = telegram.sent().filter((m) => m.chatId === chatId).length;
    expect(await telegram.deliver(telegram.message(chatId, text))).toBe(200);
    return replyTo(chatId, already);
  };

  it('login, then the machines list with the token', async () => {
    const [admin] = await seedUsers(database.db, ['admin'] as const);
    const machine = await seedMachine(database.db, { code: 'GOLIVE-001' });
    const login = await server.login('198.51.100.7', admin.email, admin.password);
    expect(login.status).toBe(200);
    const res = await server.request('/api/machines?q=GOLIVE', {
      headers: { authorization: `Bearer ${login.body.accessToken}` },
    });
    expect(res.status).toBe(200);
    expect((await res.json()).items.map((m: { id: string }) => m.id)).toEqual([machine.id]);
    expect((await server.request('/api/machines')).status).toBe(401);
  });

  it('set-webhook registers the URL with the secret', async () => {
    const set = await cli('set-webhook');
    expect(set.code, set.output).toBe(0);
    expect(telegram.webhook).toEqual({
      url: `${server.url}/api/telegram/webhook`,
      secretToken: SECRET,
      allowedUpdates: ['message'],
    });
    expect(set.output).not.toContain(SECRET);
  });

  it('webhook-info shows what Telegram knows about the webhook', async () => {
    const info = await cli('webhook-info');
    expect(info.code, info.output).toBe(0);
    expect(info.output).toContain(`URL:             ${server.url}/api/telegram/webhook`);
    expect(info.output).toContain('Pending updates: 0');
  });

  it('the webhook refuses an update without the secret or with a wrong one (401) and takes it with the secret', async () => {
    const update = JSON.stringify(telegram.message(4242, '/start'));
    const post = (headers: Record<string, string>) =>
      server.request('/api/telegram/webhook', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: update,
      });
    // The guide's own manual test: a POST without the secret header.
    const without = await post({});
    expect(without.status).toBe(401);
    expect((await without.json()).error.code).toBe('UNAUTHORIZED');
    expect((await post({ 'x-telegram-bot-api-secret-token': 'wrong-secret-0123456789' })).status).toBe(401);
    const sentBefore = telegram.sent().length;
    expect((await post({ 'x-telegram-bot-api-secret-token': SECRET })).status).toBe(200);
    expect(await replyTo(4242, 0)).toMatch(/Welcome to Opsbase/);
    // The refused updates made the bot say nothing.
    expect(telegram.sent().length).toBe(sentBefore + 1);
  });

  it('/start with a one-time code links the chat; the code works once', async () => {
    const [operator] = await seedUsers(database.db, ['operator'] as const);
    const login = await server.login('198.51.100.8', operator.email, operator.password);
    const issued = await server.request('/api/telegram/link-code', {
      method: 'POST',
      headers: { authorization: `Bearer ${login.body.accessToken}` },
    });
    expect(issued.status).toBe(201);
    const { code, command } = await issued.json();
    expect(command).toBe(`/start ${code}`);

    expect(await say(5001, '/start WRONGCODE1')).toMatch(/unknown, used or expired/);
    expect(await say(5001, `/start ${code}`)).toContain(`Linked. Hello, ${operator.name}!`);
    expect(await say(5002, `/start ${code}`)).toMatch(/unknown, used or expired/);
    const link = await database.db
      .selectFrom('telegram_links')
      .selectAll()
      .where('user_id', '=', operator.id)
      .executeTakeFirstOrThrow();
    expect(link).toMatchObject({ chat_id: 5001, link_code_hash: null, username: 'user5001' });
    expect(await say(5001, '/start')).toContain(`Welcome back, ${operator.name}`);
  });

  it("/tasks lists the operator's open tasks; /done N completes one and releases its reservations", async () => {
    const [operator, other] = await seedUsers(database.db, ['operator', 'operator'] as const);
    await database.db
      .insertInto('telegram_links')
      .values({ user_id: operator.id, chat_id: 6001, linked_at: new Date() })
      .execute();
    const machine = await seedMachine(database.db, { code: 'BOT-007' });
    const product = await seedProduct(database.db);
    const mine = await seedTask(database.db, { machineId: machine.id, assignedTo: operator.id });
    const overdue = await seedTask(database.db, {
      machineId: machine.id,
      assignedTo: operator.id,
      status: 'overdue',
      dueAt: new Date(Date.now() - 3_600_000),
    });
    const theirs = await seedTask(database.db, { machineId: machine.id, assignedTo: other.id });
    await seedTask(database.db, {
      machineId: machine.id,
      assignedTo: operator.id,
      status: 'completed',
      completedAt: new Date(),
    });
    await seedReservation(database.db, { taskId: mine.id, productId: product.id });

    const list = await say(6001, '/tasks');
    expect(list).toContain(`#${mine.number} refill - BOT-007`);
    expect(list).toContain(`#${overdue.number} refill - BOT-007`);
    expect(list).toContain('OVERDUE');
    expect(list).not.toContain(`#${theirs.number} `);
    expect(list.split('\n')).toHaveLength(3);

    expect(await say(6001, `/done ${theirs.number}`)).toBe(`Task #${theirs.number} is not one of your tasks.`);
    expect(
      (await database.db.selectFrom('tasks').select('status').where('id', '=', theirs.id).executeTakeFirstOrThrow())
        .status,
    ).toBe('assigned');

    expect(await say(6001, `/done ${mine.number}`)).toBe(
      `Task #${mine.number} is completed. Released 1 reservation(s).`,
    );
    const done = await database.db.selectFrom('tasks').selectAll().where('id', '=', mine.id).executeTakeFirstOrThrow();
    expect({ status: done.status, by: done.completed_by }).toEqual({ status: 'completed', by: operator.id });
    const reservation = await database.db
      .selectFrom('inventory_reservations')
      .select('status')
      .where('task_id', '=', mine.id)
      .executeTakeFirstOrThrow();
    expect(reservation.status).toBe('released');
    expect(await say(6001, `/done ${mine.number}`)).toBe(`Task #${mine.number} is already completed.`);
    expect(await say(6001, '/done')).toMatch(/Send \/done N/);
    expect(await say(6001, '/tasks')).not.toContain(`#${mine.number} `);
    expect(await say(6003, '/tasks')).toMatch(/not linked/);
  });

  it('a reply that meets a 429 is sent again after retry_after', async () => {
    telegram.failNext('sendMessage', { status: 429, description: 'Too Many Requests', retryAfter: 1 });
    const before = telegram.calls.length;
    expect(await say(6100, '/help')).toContain('Opsbase bot commands');
    const attempts = telegram.calls.slice(before).filter((c) => c.method === 'sendMessage');
    expect(attempts.map((c) => c.status)).toEqual([429, 200]);
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
  });

  it('an update the bot has no use for is acknowledged; one that is not an update is 400', async () => {
    const post = (body: string) =>
      server.request('/api/telegram/webhook', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
        body,
      });
    const edited = { update_id: 9, edited_message: { message_id: 1, chat: { id: 1 }, text: 'x' }, poll: {} };
    expect((await post(JSON.stringify(edited))).status).toBe(200);
    expect((await post('{"update_id": "nine"}')).status).toBe(400);
    expect((await post('{not json')).status).toBe(400);
  });
});
