// A small Bot API client: JSON POSTs to {apiBase}/bot{token}/{method}, the Bot API's
// {ok, result} / {ok: false, error_code, description, parameters} answers, and retries that
// honour 429's retry_after. The token is part of every URL, so no URL ever reaches an error
// message or a log line.

export type TelegramClientOptions = {
  apiBase: string;
  token: string;
  /** Attempts per call, the first included (429s, 5xx and network errors are retried). */
  maxAttempts?: number;
  /** A 429 asking to wait longer than this fails at once rather than stall the caller. */
  maxRetryAfterSeconds?: number;
  /** Per-attempt timeout. */
  timeoutMs?: number;
  /** Stops waiting and retrying (a job's timeout). */
  signal?: AbortSignal;
  fetch?: typeof fetch;
};

export class TelegramApiError extends Error {
  override name = 'TelegramApiError';
  readonly method: string;
  /** HTTP status, or 0 when the request never got an answer. */
  readonly status: number;
  readonly description: string;
  readonly retryAfterSeconds: number | undefined;
  constructor(method: string, status: number, description: string, retryAfterSeconds?: number) {
    super(`Telegram ${method} failed${status ? ` (${status})` : ''}: ${description}`);
    this.method = method;
    this.status = status;
    this.description = description;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

type BotApiAnswer<T> =
  | { ok: true; result: T; description?: string }
  | { ok: false; error_code?: number; description?: string; parameters?: { retry_after?: number } };

export type TelegramMessage = { message_id: number; date: number; chat: { id: number }; text?: string };

export type WebhookInfo = {
  url: string;
  has_custom_certificate: boolean;
  pending_update_count: number;
  last_error_date?: number;
  last_error_message?: string;
  max_connections?: number;
  allowed_updates?: string[];
};

export type TelegramClient = ReturnType<typeof createTelegramClient>;

const BACKOFF_MS = [500, 1500, 4000];

export function createTelegramClient(options: TelegramClientOptions) {
  const maxAttempts = options.maxAttempts ?? 4;
  const maxRetryAfter = options.maxRetryAfterSeconds ?? 60;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const doFetch = options.fetch ?? fetch;

  async function call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    let lastError: TelegramApiError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      options.signal?.throwIfAborted();
      let waitMs: number;
      try {
        const signal = options.signal
          ? AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)])
          : AbortSignal.timeout(timeoutMs);
        const res = await doFetch(`${options.apiBase}/bot${options.token}/${method}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(params),
          signal,
        });
        const answer = (await res.json().catch(() => undefined)) as BotApiAnswer<T> | undefined;
        if (answer?.ok === true) return answer.result;
        const description = answer?.description ?? `HTTP ${res.status}`;
        const retryAfter = answer?.parameters?.retry_after;
        lastError = new TelegramApiError(method, res.status, description, retryAfter);
        if (res.status === 429) {
          const seconds = typeof retryAfter === 'number' && retryAfter >= 0 ? retryAfter : 1;
          if (seconds > maxRetryAfter) throw lastError;
          waitMs = seconds * 1000;
        } else if (res.status >= 500) {
          waitMs = BACKOFF_MS[Math.min(attempt - 1, BACKOFF_MS.length - 1)] ?? 1000;
        } else {
          throw lastError; // 400 bad request, 401 bad token, 403 bot blocked: retrying will not help
        }
      } catch (error) {
        if (error instanceof TelegramApiError) throw error;
        if (options.signal?.aborted) throw options.signal.reason;
        // Network failure or timeout: the message names neither the URL nor the token.
        const reason = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : 'could not connect';
        lastError = new TelegramApiError(method, 0, `${reason} to the Bot API`);
        waitMs = BACKOFF_MS[Math.min(attempt - 1, BACKOFF_MS.length - 1)] ?? 1000;
      }
      if (attempt < maxAttempts) await sleep(waitMs, options.signal);
    }
    throw lastError ?? new TelegramApiError(method, 0, 'no attempt made');
  }

  return {
    call,
    sendMessage: (chatId: number, text: string) =>
      call<TelegramMessage>('sendMessage', { chat_id: chatId, text, link_preview_options: { is_disabled: true } }),
    setWebhook: (params: {
      url: string;
      secretToken?: string;
      allowedUpdates?: string[];
      dropPendingUpdates?: boolean;
    }) =>
      call<true>('setWebhook', {
        url: params.url,
        ...(params.secretToken ? { secret_token: params.secretToken } : {}),
        ...(params.allowedUpdates ? { allowed_updates: params.allowedUpdates } : {}),
        ...(params.dropPendingUpdates ? { drop_pending_updates: true } : {}),
      }),
    getWebhookInfo: () => call<WebhookInfo>('getWebhookInfo'),
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The bot's client from config, or null when TELEGRAM_BOT_TOKEN is unset. */
export function telegramFromConfig(
  telegram: { botToken: string | undefined; apiBase: string },
  signal?: AbortSignal,
): TelegramClient | null {
  return telegram.botToken
    ? createTelegramClient({ apiBase: telegram.apiBase, token: telegram.botToken, signal })
    : null;
}
