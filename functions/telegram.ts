import { handleUpdate, issueLinkCode, TelegramUpdateSchema } from '../lib/telegram/bot.ts';
import { telegramFromConfig } from '../lib/telegram/client.ts';
import { LinkCodeSchema, WebhookAnswerSchema } from '../schema/api/vending.ts';
import { actorOf } from './actor.ts';
import { createFunction } from './base.ts';
import { errorResponses, json, jsonBody, route } from './route.ts';

const tags = ['vending: telegram'];

const webhookRoute = route('telegram', {
  method: 'post',
  path: '/api/telegram/webhook',
  tags,
  summary: 'Updates from Telegram (X-Telegram-Bot-Api-Secret-Token must be TELEGRAM_WEBHOOK_SECRET)',
  description:
    'Answers /start CODE, /tasks and /done N by sendMessage. Any update that is a JSON object is acknowledged with 200 (fields the bot does not use are ignored, as Telegram adds new ones and redelivers refused updates).',
  request: jsonBody(TelegramUpdateSchema),
  responses: { 200: json(WebhookAnswerSchema, 'Taken'), ...errorResponses(400, 401, 503) },
});

const linkCodeRoute = route('authenticated', {
  method: 'post',
  path: '/api/telegram/link-code',
  tags,
  summary: 'A one-time code to link your Telegram chat: send /start CODE to the bot within 15 minutes',
  responses: { 201: json(LinkCodeSchema, 'The code (shown once)'), ...errorResponses(401) },
});

export const telegram = createFunction()
  .openapi(webhookRoute, async (c) => {
    const { db, config, logger, defer } = c.get('services');
    const reply = await handleUpdate(db, c.req.valid('json'));
    if (reply) {
      const bot = telegramFromConfig(config.telegram);
      if (bot) {
        // Sent after the answer: Telegram waits for none of it, and a 429 wait or a failed
        // send never turns into a redelivered update.
        defer(
          bot
            .sendMessage(reply.chatId, reply.text, { link_preview_options: { is_disabled: true } })
            .catch((error: Error) => {
              logger.warn('telegram reply not sent', { chatId: reply.chatId, error: error.message });
            }),
        );
      } else {
        logger.warn('telegram reply not sent: TELEGRAM_BOT_TOKEN is unset', { chatId: reply.chatId });
      }
    }
    return c.json({ ok: true }, 200);
  })
  .openapi(linkCodeRoute, async (c) => {
    const { code, expiresAt } = await issueLinkCode(c.get('services').db, actorOf(c).userId);
    return c.json({ code, command: `/start ${code}`, expiresAt: expiresAt.toISOString() }, 201);
  });
