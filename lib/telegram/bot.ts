import { sql } from 'kysely';
import { z } from 'zod';
import { sha256, toBase64Url } from '../auth/crypto.ts';
import type { Db } from '../db/connection.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { type Actor, completeTask, findTaskByNumber, listTasks, type TaskView } from '../vending/tasks.ts';

// The bot's conversation: /start <code> links a chat to an Opsbase user with a one-time code
// from POST /api/telegram/link-code; /tasks lists their open tasks; /done <n> completes one.
// handleUpdate only reads and writes the database and says what to reply; the caller sends it.

/** The part of a Telegram Update the bot reads; anything else in it is ignored. */
export const TelegramUpdateSchema = z.looseObject({
  update_id: z.number().int(),
  message: z
    .looseObject({
      message_id: z.number().int(),
      chat: z.looseObject({ id: z.number().int() }),
      from: z.looseObject({ id: z.number().int(), username: z.string().optional() }).optional(),
      text: z.string().optional(),
    })
    .optional(),
});
export type TelegramUpdate = z.infer<typeof TelegramUpdateSchema>;

export type BotReply = { chatId: number; text: string };

/** Link codes: 10 characters without look-alikes (0/O, 1/I), about 50 bits. */
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const CODE_LENGTH = 10;
export const LINK_CODE_TTL_SECONDS = 15 * 60;

async function codeHash(code: string): Promise<string> {
  return toBase64Url(await sha256(code.toUpperCase()));
}

/**
 * A fresh one-time code for the user (replacing any earlier one). Only its hash is stored; the
 * code is shown once, and works once, within LINK_CODE_TTL_SECONDS.
 */
export async function issueLinkCode(db: Db, userId: string): Promise<{ code: string; expiresAt: Date }> {
  const bytes = crypto.getRandomValues(new Uint8Array(CODE_LENGTH));
  const code = Array.from(bytes, (b) => CODE_ALPHABET[b % CODE_ALPHABET.length]).join('');
  const expiresAt = new Date(Date.now() + LINK_CODE_TTL_SECONDS * 1000);
  const hash = await codeHash(code);
  await db
    .insertInto('telegram_links')
    .values({ user_id: userId, link_code_hash: hash, link_code_expires_at: expiresAt })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ link_code_hash: hash, link_code_expires_at: expiresAt }))
    .execute();
  return { code, expiresAt };
}

/** The active user a chat is linked to. */
export async function linkedUser(db: Db, chatId: number) {
  return db
    .selectFrom('telegram_links as tl')
    .innerJoin('users as u', 'u.id', 'tl.user_id')
    .select(['u.id', 'u.name', 'u.role'])
    .where('tl.chat_id', '=', chatId)
    .where('u.is_active', '=', true)
    .executeTakeFirst();
}

/**
 * Spends a code: the chat is linked to the code's user (and unlinked from anyone it was linked
 * to before). Undefined for an unknown, used or expired code.
 */
async function redeemLinkCode(db: Db, code: string, chatId: number, username: string | undefined) {
  const hash = await codeHash(code);
  // One chat, one account: a chat linked to someone else is unlinked first, but only when the
  // code is good (a crash in between leaves it unlinked, and sending the code again finishes).
  await sql`update telegram_links set chat_id = null, linked_at = null
    where chat_id = ${chatId}
      and user_id <> (select user_id from telegram_links where link_code_hash = ${hash} and link_code_expires_at > now())`.execute(
    db,
  );
  const linked = await db
    .updateTable('telegram_links')
    .set({
      chat_id: chatId,
      username: username ?? null,
      linked_at: sql`now()`,
      link_code_hash: null,
      link_code_expires_at: null,
    })
    .where('link_code_hash', '=', hash)
    .where('link_code_expires_at', '>', sql<Date>`now()`)
    .returning('user_id')
    .executeTakeFirst();
  if (!linked) return undefined;
  return db.selectFrom('users').select(['id', 'name']).where('id', '=', linked.user_id).executeTakeFirst();
}

const HELP = [
  'Opsbase bot commands:',
  '/start CODE - link this chat to your Opsbase account (get a code from the app or POST /api/telegram/link-code)',
  '/tasks - your open tasks',
  '/done N - mark task #N as completed',
].join('\n');

export function formatTask(task: Pick<TaskView, 'number' | 'type' | 'status' | 'dueAt' | 'machine'>): string {
  const due = task.dueAt.slice(0, 16).replace('T', ' ');
  const flag = task.status === 'overdue' ? ' OVERDUE' : '';
  return `#${task.number} ${task.type} - ${task.machine.code} ${task.machine.name}, due ${due} UTC${flag}`;
}

/** What the bot answers to one update; null when there is nothing to answer (not a text message). */
export async function handleUpdate(db: Db, update: TelegramUpdate): Promise<BotReply | null> {
  const message = update.message;
  if (!message?.text) return null;
  const chatId = message.chat.id;
  const reply = (text: string): BotReply => ({ chatId, text });
  const [rawCommand = '', ...args] = message.text.trim().split(/\s+/);
  // "/tasks@SomeBot" in group chats: the command without the bot's name.
  const command = rawCommand.toLowerCase().replace(/@\w+$/, '');

  if (command === '/start') {
    const code = args[0];
    if (!code) {
      const user = await linkedUser(db, chatId);
      return reply(
        user
          ? `Welcome back, ${user.name}. This chat is linked to your Opsbase account.\n\n${HELP}`
          : `Welcome to Opsbase. To link this chat, get a code in the app and send /start CODE.\n\n${HELP}`,
      );
    }
    if (!/^[A-Za-z0-9]{1,64}$/.test(code)) return reply('That code is not valid. Get a new one and send /start CODE.');
    const linked = await redeemLinkCode(db, code, chatId, message.from?.username);
    return reply(
      linked
        ? `Linked. Hello, ${linked.name}! Send /tasks to see your open tasks.`
        : 'That code is unknown, used or expired. Get a new one and send /start CODE.',
    );
  }

  if (command === '/tasks' || command === '/done') {
    const user = await linkedUser(db, chatId);
    if (!user) return reply('This chat is not linked to an Opsbase account yet. Send /start CODE first.');
    const actor: Actor = { userId: user.id, role: user.role };
    if (command === '/tasks') {
      // The user's own open tasks, whatever their role.
      const page = await listTasks(db, actor, { assignedTo: user.id, status: 'open', limit: 20 });
      if (page.items.length === 0) return reply('You have no open tasks.');
      const more = page.nextCursor ? '\n(more in the app)' : '';
      return reply(`Your open tasks:\n${page.items.map(formatTask).join('\n')}${more}`);
    }
    const number = Number((args[0] ?? '').replace(/^#/, ''));
    if (!args[0] || !Number.isSafeInteger(number) || number <= 0)
      return reply('Send /done N with a task number from /tasks.');
    const task = await findTaskByNumber(db, actor, number);
    if (!task || task.assignedTo !== user.id) return reply(`Task #${number} is not one of your tasks.`);
    try {
      const { releasedReservations } = await completeTask(db, actor, task.id);
      const released = releasedReservations > 0 ? ` Released ${releasedReservations} reservation(s).` : '';
      return reply(`Task #${number} is completed.${released}`);
    } catch (error) {
      if (error instanceof ConflictError) return reply(`Task #${number} is already ${task.status}.`);
      if (error instanceof NotFoundError) return reply(`Task #${number} is not one of your tasks.`);
      throw error;
    }
  }

  return reply(HELP);
}
