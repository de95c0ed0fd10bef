import type { Config } from '../config.ts';
import { createTelegramClient } from '../telegram/client.ts';

/** Somewhere an alert message goes. send() rejects when it was not accepted. */
export type AlertChannel = { name: string; send(text: string, signal?: AbortSignal): Promise<void> };

/** The channels ALERT_WEBHOOK_URL and ALERT_TELEGRAM_CHAT_ID configure (none: alerts are off). */
export function alertChannels(config: Config, doFetch: typeof fetch = fetch): AlertChannel[] {
  const channels: AlertChannel[] = [];
  const { webhookUrl, telegramChatId } = config.alerts;
  if (webhookUrl) {
    channels.push({
      name: 'webhook',
      async send(text, signal) {
        // Slack's incoming-webhook format, which Mattermost, Rocket.Chat and Discord's /slack
        // endpoint accept too. The URL is a secret: it never appears in an error.
        const response = await doFetch(webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text }),
          signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(10_000)]) : AbortSignal.timeout(10_000),
        }).catch((error: Error) => {
          throw new Error(`webhook unreachable: ${error.message}`);
        });
        await response.body?.cancel();
        if (!response.ok) throw new Error(`webhook answered HTTP ${response.status}`);
      },
    });
  }
  if (telegramChatId && config.telegram.botToken) {
    const telegram = createTelegramClient({
      token: config.telegram.botToken,
      apiBase: config.telegram.apiBase,
      fetch: doFetch,
    });
    channels.push({
      name: 'telegram',
      async send(text, signal) {
        await telegram.sendMessage(telegramChatId, text, { link_preview_options: { is_disabled: true } }, signal);
      },
    });
  }
  return channels;
}

/**
 * Sends to every channel. Delivered when at least one channel took it: a message is then never
 * sent again, so a broken channel cannot make the working one repeat itself.
 */
export async function deliver(
  channels: AlertChannel[],
  text: string,
  signal?: AbortSignal,
): Promise<{ delivered: boolean; errors: string[] }> {
  const results = await Promise.allSettled(channels.map((channel) => channel.send(text, signal)));
  const errors = results.flatMap((result, i) =>
    result.status === 'rejected'
      ? [`${channels[i]?.name}: ${result.reason instanceof Error ? result.reason.message : String(result.reason)}`]
      : [],
  );
  return { delivered: results.some((result) => result.status === 'fulfilled'), errors };
}
