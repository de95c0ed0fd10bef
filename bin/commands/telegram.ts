import { Command } from 'commander';
import { createTelegramClient, type WebhookInfo } from '../../lib/telegram/client.ts';
import { cliConfig } from './context.ts';

function botFromConfig() {
  const config = cliConfig();
  if (!config.telegram.botToken) throw new Error('TELEGRAM_BOT_TOKEN is not set');
  return { config, bot: createTelegramClient({ apiBase: config.telegram.apiBase, token: config.telegram.botToken }) };
}

export function telegramCommand(): Command {
  const telegram = new Command('telegram').description('Set up the Telegram bot');

  telegram
    .command('set-webhook')
    .description(
      'Register TELEGRAM_WEBHOOK_URL (or --url) with Telegram, with TELEGRAM_WEBHOOK_SECRET as the secret it sends back',
    )
    .option('--url <url>', 'the public URL of POST /api/telegram/webhook')
    .option('--drop-pending-updates', 'discard updates Telegram queued while no webhook answered')
    .action(async (options: { url?: string; dropPendingUpdates?: boolean }) => {
      const { config, bot } = botFromConfig();
      const url = options.url ?? config.telegram.webhookUrl;
      if (!url) throw new Error('set TELEGRAM_WEBHOOK_URL or pass --url');
      if (!/^https?:\/\//.test(url)) throw new Error(`--url must be an http(s) URL, got ${url}`);
      if (!config.telegram.webhookSecret) {
        throw new Error(
          'TELEGRAM_WEBHOOK_SECRET is not set: the webhook refuses updates without it (openssl rand -hex 32)',
        );
      }
      await bot.call<true>('setWebhook', {
        url,
        secret_token: config.telegram.webhookSecret,
        allowed_updates: ['message'],
        ...(options.dropPendingUpdates ? { drop_pending_updates: true } : {}),
      });
      console.log(`Webhook set: ${url} (with the secret from TELEGRAM_WEBHOOK_SECRET, updates: message)`);
    });

  telegram
    .command('webhook-info')
    .description("What Telegram knows about the bot's webhook: URL, pending updates, last error")
    .option('--json', 'print the Bot API answer as JSON')
    .action(async (options: { json?: boolean }) => {
      const { bot } = botFromConfig();
      const info = await bot.call<WebhookInfo>('getWebhookInfo', {});
      if (options.json) {
        console.log(JSON.stringify(info, null, 2));
        return;
      }
      console.log(`URL:             ${info.url || '(none set)'}`);
      console.log(`Pending updates: ${info.pending_update_count}`);
      if (info.allowed_updates) console.log(`Allowed updates: ${info.allowed_updates.join(', ')}`);
      console.log(
        `Last error:      ${
          info.last_error_date
            ? `${new Date(info.last_error_date * 1000).toISOString()} ${info.last_error_message ?? ''}`
            : 'none'
        }`,
      );
    });

  return telegram;
}
