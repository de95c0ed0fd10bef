/**
 * A small Telegram Bot API client (https://core.telegram.org/bots/api): JSON POSTs to
 * {apiBase}/bot{token}/{method}. Retries 429 after the `retry_after` Telegram asks for, and
 * network errors and 5xx with a short backoff. The token is part of every URL, so no error or
 * log line built here ever contains a URL.
 */

export type TelegramClientOptions = {
  token: string;
  /** TELEGRAM_API_BASE: https://api.telegram.org, or a local Bot API server / test fake. */
  apiBase?: string;
  /** Attempts after the first (429, 5xx, network). */
  maxRetries?: number;
  /** A 429 asking to wait longer than this (seconds) is not waited for: the call fails. */
  maxRetryAfterSeconds?: number;
  /** Per attempt. */
  timeoutMs?: number;
  fetch?: typeof fetch;
};

/** A call Telegram answered with ok: false (or that never got an answer). */
export class TelegramApiError extends Error {
  override name = 'TelegramApiError';
  readonly method: string;
  /** Telegram's error_code (HTTP status), or null when no answer came. */
  readonly errorCode: number | null;
  readonly retryAfterSeconds: number | null;
  constructor(method: string, errorCode: number | null, description: string, retryAfterSeconds: number | null = null) {
    super(`telegram ${method}: ${errorCode ?? 'no answer'} ${description}`);
    this.method = method;
    this.errorCode = errorCode;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

type ApiAnswer<T> =
  | { ok: true; result: T }
  | { ok: false; error_code?: number; description?: string; parameters?: { retry_after?: number } };

export type TelegramMessage = { message_id: number; chat: { id: number | string }; date: number; text?: string };

export type SendMessageOptions = {
  parse_mode?: 'HTML' | 'MarkdownV2';
  disable_notification?: boolean;
  link_preview_options?: { is_disabled?: boolean };
  reply_markup?: unknown;
};

export type TelegramClient = {
  /** Any Bot API method with JSON parameters. */
  call<T>(method: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<T>;
  sendMessage(
    chatId: number | string,
    text: string,
    options?: SendMessageOptions,
    signal?: AbortSignal,
  ): Promise<TelegramMessage>;
};

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

export function createTelegramClient(options: TelegramClientOptions): TelegramClient {
  const apiBase = (options.apiBase ?? 'https://api.telegram.org').replace(/\/+$/, '');
  const maxRetries = options.maxRetries ?? 3;
  const maxRetryAfter = options.maxRetryAfterSeconds ?? 60;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const doFetch = options.fetch ?? fetch;

  async function call<T>(method: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let failure: TelegramApiError;
      let waitMs: number;
      try {
        const response = await doFetch(`${apiBase}/bot${options.token}/${method}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(params),
          signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
        });
        const answer = (await response.json().catch(() => null)) as ApiAnswer<T> | null;
        if (answer?.ok) return answer.result;
        const code = answer?.error_code ?? response.status;
        const retryAfter = answer?.parameters?.retry_after ?? null;
        failure = new TelegramApiError(method, code, answer?.description ?? response.statusText, retryAfter);
        if (code === 429 && retryAfter !== null && retryAfter <= maxRetryAfter) waitMs = retryAfter * 1000;
        else if (code >= 500) waitMs = 500 * 2 ** attempt;
        else throw failure; // 400 (bad chat id, text too long), 401, 403 (bot blocked): retrying won't help
      } catch (error) {
        if (error instanceof TelegramApiError) throw error;
        if (signal?.aborted) throw signal.reason;
        // Network failure or timeout; fetch's message never includes the URL.
        failure = new TelegramApiError(method, null, error instanceof Error ? error.message : String(error));
        waitMs = 500 * 2 ** attempt;
      }
      if (attempt >= maxRetries) throw failure;
      await sleep(waitMs, signal);
    }
  }

  return {
    call,
    sendMessage: (chatId, text, extra = {}, signal) =>
      call<TelegramMessage>('sendMessage', { chat_id: chatId, text, ...extra }, signal),
  };
}

/** The bot's client from config, or null when TELEGRAM_BOT_TOKEN is unset. */
export function telegramFromConfig(telegram: { botToken: string | undefined; apiBase: string }): TelegramClient | null {
  return telegram.botToken ? createTelegramClient({ token: telegram.botToken, apiBase: telegram.apiBase }) : null;
}

export type WebhookInfo = {
  url: string;
  has_custom_certificate: boolean;
  pending_update_count: number;
  last_error_date?: number;
  last_error_message?: string;
  max_connections?: number;
  allowed_updates?: string[];
};
