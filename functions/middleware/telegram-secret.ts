import type { MiddlewareHandler } from 'hono';
import { constantTimeEqualStrings } from '../../lib/auth/crypto.ts';
import type { AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';

export const TELEGRAM_SECRET_HEADER = 'X-Telegram-Bot-Api-Secret-Token';

/**
 * Telegram's webhook secret (the secret_token given to setWebhook), compared in constant time.
 * Without TELEGRAM_WEBHOOK_SECRET the webhook is off (503) rather than open to anyone.
 */
export function requireTelegramSecret(): MiddlewareHandler<AppEnv> {
  return async function requireTelegramSecret(c, next) {
    const secret = c.get('services').config.telegram.webhookSecret;
    if (!secret) {
      throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'the Telegram webhook is disabled: set TELEGRAM_WEBHOOK_SECRET');
    }
    if (!constantTimeEqualStrings(c.req.header(TELEGRAM_SECRET_HEADER) ?? '', secret)) {
      throw new ApiError(401, 'UNAUTHORIZED', `a valid ${TELEGRAM_SECRET_HEADER} header is required`);
    }
    await next();
  };
}
